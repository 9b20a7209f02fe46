"""Names in text: people, places, organisations, other proper names and time words, by jieba's part-of-speech tags.

Tagging costs ~40 µs a character (the HMM that finds names jieba's dictionary lacks), far too slow at answer
time for the shown passages, so a build tags every passage's sentences once and stores what it found with the
passage (``Chunk.entities``, one short string per sentence: ``"P0-2 L5-7"``, kind letter and span). The
answer step reads them back (``sentence_entities``) to tell whether a sentence names the kind of thing a
question asks for (谁 → a person, 哪里 → a place) that the question does not already name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .normalize import fold_in_place

# jieba's tags → the kind stored (one letter each, to keep the index small)
_KIND_OF_FLAG = {"nr": "P", "nrt": "P", "nrfg": "P", "ns": "L", "nt": "O", "nz": "Z", "t": "T"}
KINDS = {"P": "person", "L": "place", "O": "organisation", "Z": "name", "T": "time"}
_STORED = re.compile(r"([PLOZT])(\d+)-(\d+)")

# what a question asks for by its question word: 谁 a person, 哪里 a place, 哪所大学 an organisation,
# 什么时候 a time (a date is a figure too; 同年, 战国时期, 当时 are time words that are none)
_WHICH = r"(?:哪|什么|何)一?(?:个|座|所|家|条|间|支|名|位|片|种|类)?"
_PLACES = "国家|城市|地区|地方|地点|省份|省|州|县|城|镇|村|岛|河|山|湖|海|洲|国|港|街|路|区|处|里|儿|地"
_PEOPLE = "人物|人|皇帝|国王|君主|作家|作者|总统|总理|首相|将军|球员|演员|歌手|科学家|学者|导演|位|名"
_ORGANISATIONS = "组织|机构|公司|大学|学校|学院|政党|党|部门|球队|队|单位|企业|团体|集团|银行|医院|电视台|报社|乐团|军"
_ASKS = {
    "P": rf"谁|何人|{_WHICH}(?:{_PEOPLE})(?![\u4e00-\u9fff]{{0,1}}(?:年|时|地|国|城))",
    "L": rf"在哪|{_WHICH}(?:{_PLACES})",
    "O": rf"{_WHICH}(?:{_ORGANISATIONS})",
    "T": r"什么时候|何时|什么时期|什么朝代|哪个时期|哪个朝代|哪个年代|哪一时期|哪一朝",
}
_ASKS_PATTERN = {kind: re.compile(words) for kind, words in _ASKS.items()}


@dataclass(frozen=True)
class Entity:
    """A name found in a sentence: its kind letter (P person, L place, O organisation, Z other name, T time)
    and where it stands in the sentence as written."""

    kind: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import jieba.posseg  # jieba's default dictionary, shared with bot.lexical and bot.subjects

    return jieba.posseg.dt


def tag_sentence(sentence: str) -> str:
    """The names of ``sentence`` in the stored form: ``"P0-2 L5-7"`` (folded for tagging, spans as written)."""
    folded, at, found = fold_in_place(sentence), 0, []
    for word, flag in _tagger().cut(folded):
        kind = _KIND_OF_FLAG.get(flag)
        if kind and word.strip():
            found.append(f"{kind}{at}-{at + len(word)}")
        at += len(word)
    return " ".join(found)


def tag_sentences(sentences: Sequence[str]) -> tuple[str, ...]:
    return tuple(tag_sentence(s) for s in sentences)


@lru_cache(maxsize=16384)
def sentence_entities(stored: str) -> tuple[Entity, ...]:
    """The names of one sentence from its stored form."""
    return tuple(Entity(m.group(1), int(m.group(2)), int(m.group(3))) for m in _STORED.finditer(stored))


def asked_entity(question: str) -> str:
    """The kind of name a (folded) question asks for: "P", "L", "O", "T", or "" when it asks none of these."""
    return next((kind for kind, pattern in _ASKS_PATTERN.items() if pattern.search(question)), "")
