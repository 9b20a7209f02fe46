"""An honest "not given": what of the question the passage talks about, and what it does not give.

城市书房一次能借几本书 over a passage about 城市书房 that gives no loan limit → ("城市书房", "一次能借几本书"), said as
"…讲到了城市书房，但没有给出一次能借几本书". Read from the question's own words and where the passage has them.
"""

from __future__ import annotations

import re

from ..search import QueryAnalysis
from .reading import _matchable

_EDGE = "，,。？?！!、；;：: 的呢吗嘛啊呀吧"
_ASKING = re.compile(r"多少|几|哪|什么|何时|怎么|如何|是否")


def found_and_missing(query: QueryAnalysis, passage: str) -> tuple[str, str]:
    """(what the passage talks about, what it does not give), both in the question's words; "" where the
    question's words do not say (the reply then falls back to general words)."""
    question = query.normalized
    text = _matchable(passage)
    placed = sorted({(question.find(w), w) for w in [*query.words, *query.subject] if w and w in question})
    found = [(at, w) for at, w in placed if w in text]
    missing_at = next((at for at, w in placed if w not in text), None)
    if missing_at is None:  # every word is there: what is missing is what it asks (一共花了多少钱)
        asking = _ASKING.search(question)
        missing_at = asking.start() if asking else len(question)
    before = [(at, w) for at, w in found if at + len(w) <= missing_at]
    start = max((at + len(w) for at, w in before), default=0)
    missing = question[start:].strip(_EDGE)
    topic = question[:start].strip(_EDGE) if before else ""
    if not topic and found:
        topic = "、".join(_merged([w for _, w in found if len(w) > 1], text))
    return topic, missing


def _merged(words: list[str], text: str) -> list[str]:
    """Found words in question order, each once: a part of a longer one left out (金融 in 金融专员), and
    neighbours the passage writes together joined (城市 书房 → 城市书房)."""
    kept = [w for w in dict.fromkeys(words) if not any(w != o and w in o for o in words)]
    merged: list[str] = []
    for word in kept:
        if merged and merged[-1] + word in text:
            merged[-1] += word
        else:
            merged.append(word)
    return merged
