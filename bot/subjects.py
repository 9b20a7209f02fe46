"""What a question is about: its nouns, by kind, from jieba's part-of-speech tags.

Used where a question must be told apart from its wording: a follow-up that names no subject of its own
(接待了多少人次？) leans on the last question, and a reply shows a second section only for a subject the
first passage lacks (瑞安的贷款和文成侨家乐的收入), not for a verb (覆盖) that happens to occur elsewhere.
"""

from __future__ import annotations

from functools import lru_cache

import jieba.posseg

from .figures import UNITS
from .normalize import normalize_query

_SUBJECT_FLAGS = ("n", "eng", "vn", "nz")  # jieba's part-of-speech tags of nouns: a question's subject
_KIND_OF_FLAG = {"ns": "place", "nr": "person", "nt": "organisation", "t": "time", "f": "time"}


@lru_cache(maxsize=4096)  # a chat's question is tagged for its context, its reply and its memory: once
def tagged(text: str) -> tuple[tuple[str, str], ...]:
    """(word, part-of-speech tag) of ``text``, folded like a question."""
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(normalize_query(text)) if w.word.strip())


def subject_words(question: str) -> list[tuple[str, str]]:
    """The nouns a question is about, with their kind (place, person, organisation, time, thing); what it
    counts (人次, 家) and pronouns are no subject."""
    return [(word, _KIND_OF_FLAG.get(flag, "thing")) for word, flag in tagged(question)
            if (flag.startswith(_SUBJECT_FLAGS) or flag in _KIND_OF_FLAG) and word not in UNITS and len(word) > 1]


