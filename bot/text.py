"""Chinese punctuation in one place: where a sentence or a clause ends, and how a text is cut short.

The sets differ on purpose, and each is named for what it means: a semicolon ends a sentence for quoting
and chunking (SENTENCE_END_MARKS) but not for display, where only a full stop, ! or ? break a line
(FULL_STOP_MARKS); a clause also ends at a comma (CLAUSE_END_MARKS); a colon or an enumeration comma sits
between clauses without ending one (CLAUSE_MARKS). Closing quotes and brackets stay with what they close.
"""

from __future__ import annotations

import re

CLOSING_QUOTES = "”’」』）)"  # stay with the sentence they close
SENTENCE_END_MARKS = "。！？；!?;"  # end a sentence (a passage is cut, a quote ends, a question is split here)
FULL_STOP_MARKS = "。！？!?"  # end a sentence as shown on screen (a semicolon does not)
CLAUSE_END_MARKS = "，," + SENTENCE_END_MARKS  # end a clause
INNER_CLAUSE_MARKS = "，,、：:"  # between clauses inside a sentence (where a long sentence may be cut)
CLAUSE_MARKS = INNER_CLAUSE_MARKS + SENTENCE_END_MARKS  # every mark between clauses, ending a sentence or not

SENTENCE_END = re.compile(f"[{SENTENCE_END_MARKS}]+[{CLOSING_QUOTES}]*")  # a sentence's end, quotes included
FULL_STOP = re.compile(f"[{FULL_STOP_MARKS}]+[{CLOSING_QUOTES}]*")
AFTER_CLAUSE_END = re.compile(f"(?<=[{CLAUSE_END_MARKS}])")  # the places just after a clause ends
CLAUSE_MARK = re.compile(f"[{CLAUSE_MARKS}]")
INNER_CLAUSE_MARK = re.compile(f"[{INNER_CLAUSE_MARKS}]")
SENTENCE = re.compile(f"[^{SENTENCE_END_MARKS}]+[{SENTENCE_END_MARKS}]?[{CLOSING_QUOTES}]*")  # one, end included


def shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut with … to at most ``limit`` characters (a button label, an inline title, a
    report's excerpt of an answer)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def counted(count: int, noun: str) -> str:
    """``1 article`` / ``2 articles``: the English counts of maintainers' summaries."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
