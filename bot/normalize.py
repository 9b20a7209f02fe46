"""Text normalization for matching: questions and content are folded the same way, everywhere.

Passages are always shown as written; only the strings compared are normalized. Traditional characters
and variant forms are folded to Simplified with OpenCC (phrase-aware, far better than a character table),
full-width forms to half-width with NFKC, and invisible/control characters are dropped so pasted text
matches. Content gets the same folding as questions: a Traditional article answers a Simplified question
and the other way round.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import opencc

# controls, soft hyphen, zero-width characters, and every bidirectional mark: embeddings and overrides
# (U+202A–U+202E), isolates (U+2066–U+2069), the LRM/RLM/ALM marks
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified → Traditional in the common Taiwan forms (為, 群, 眾), characters only, no phrase rewriting."""
    return _converter("s2tw").convert(text)


def in_script(text: str, traditional: bool) -> str:
    """``text`` in Traditional characters for a reader who writes them, else as it is."""
    return to_traditional(text) if traditional else text


def looks_traditional(text: str) -> bool:
    """True when folding to Simplified changes the text, i.e. the user writes Traditional characters."""
    return to_simplified(text) != text and to_traditional(to_simplified(text)) != to_simplified(text)


def clean(text: str) -> str:
    """Drop control and invisible characters, fold runs of whitespace to one space."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (half of a UTF-16 pair, as a broken client may send, which no UTF-8
    socket, database or log can carry) replaced by U+FFFD, the replacement character."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def fold(text: str) -> str:
    """The matching form of any text, question or passage: NFKC (full-width → half-width, ㈼ → (監)), then
    Traditional → Simplified, lower case, clean: in this order folding twice changes nothing."""
    return clean(to_simplified(unicodedata.normalize("NFKC", clean(text)))).lower()


def normalize_query(text: str) -> str:
    """The matching form of a question (the same as a passage's)."""
    return fold(text)


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_in_place(text: str) -> str:
    """Simplified, half-width characters at the same positions as ``text`` (spans found in it quote the
    original verbatim); the text unchanged where script folding would change its length."""
    simplified = to_simplified(text)
    return (simplified if len(simplified) == len(text) else text).translate(_FULL_WIDTH)
