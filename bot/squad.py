"""SQuAD-style reading-comprehension files (CMRC 2018, DRCD) as open-retrieval tests of the whole bot.

Every context becomes a knowledge section of its own (its article: the SQuAD title), every question is
asked against all of them, and a hit is a passage that contains a gold answer string. Content nobody here
wrote or tuned for is what tells whether the ranking and the abstention hold in general.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SquadError
from .text import SENTENCE


@dataclass(frozen=True)
class Context:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    question: str
    answers: tuple[str, ...]
    context_id: str


def context_id(text: str) -> str:
    """A stable section id from the context's text, so the same context keeps its id across runs."""
    return "c" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def read_squad(path: Path) -> tuple[list[Context], list[Question]]:
    """Contexts (deduplicated by text) and answerable questions, in file order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
        contexts: dict[str, Context] = {}
        questions = []
        for article in articles:
            for paragraph in article["paragraphs"]:
                text = paragraph["context"].strip()
                if not text:
                    continue
                cid = context_id(text)
                title = (article.get("title") or text[:12]).strip()
                contexts.setdefault(cid, Context(cid, title, text))
                for qa in paragraph["qas"]:
                    answers = tuple(sorted({a["text"].strip() for a in qa["answers"] if a["text"].strip()}))
                    question = " ".join(qa["question"].split())
                    if answers and question:
                        questions.append(Question(question, answers, cid))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SquadError(f"{path}: not a readable JSON file ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise SquadError(f"{path}: not SQuAD-shaped (data → paragraphs → context, qas → question, answers): "
                         f"field {exc} is missing or of the wrong type") from None
    if not contexts:
        raise SquadError(f"{path}: no contexts found under data → paragraphs → context")
    return list(contexts.values()), questions


def write_knowledge(contexts: list[Context], directory: Path) -> None:
    """The contexts as knowledge sections (one YAML per context) in ``directory``, replacing what was there.
    The one place that knows the knowledge format for this harness."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for context in contexts:
        doc: dict[str, Any] = {"id": context.id, "title": context.title, "source": {"article": context.title},
                               "paragraphs": [context.text]}
        (directory / f"{context.id}.yaml").write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


_SPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """Whitespace removed: how answers are found in passages (the sets' own scorers do the same)."""
    return _SPACE.sub("", text or "")


def answer_rank(answers: tuple[str, ...], passages: list[str]) -> int | None:
    """1-based rank of the first passage containing a gold answer, or None."""
    gold = [squeeze(a) for a in answers]
    return next((i + 1 for i, p in enumerate(passages) if any(g in squeeze(p) for g in gold)), None)


# -- near-miss sets: the topic is there, the asked figure is not ------------------------------------------------

_ASKS_FIGURE = re.compile(r"多少|几[个位家人年次岁天万亿名所座条项倍成届月日号]|多大|多久|多长|多高|多远|多重|比例|"
                          r"哪一?年|什么时候|何时|几月|幾")
_NUMERAL = re.compile(r"[0-9零一二两兩三四五六七八九十百千万萬亿億]")
MIN_CUT_CHARS = 80  # a context shorter than this once its answer is cut says too little to be on topic


def _in_context_order(questions: list[Question]) -> dict[str, list[Question]]:
    by_context: dict[str, list[Question]] = {}
    for question in questions:
        by_context.setdefault(question.context_id, []).append(question)
    return by_context


def cut_answers(contexts: list[Context], questions: list[Question]) -> tuple[list[Context], list[Question],
                                                                             list[Question]]:
    """A near-miss set: in each context, one question asking an amount or a date (its gold answers numerals)
    is chosen (by a stable hash), and every sentence holding one of its answers is cut out. Returns the cut
    contexts (same ids), the chosen questions (now the figure is not given) and the context's other questions
    whose answers survived (they must still be answered). Contexts left under MIN_CUT_CHARS are dropped."""
    by_context = _in_context_order(questions)
    cut, nearmiss, intact = [], [], []
    for context in contexts:
        asked = [q for q in by_context.get(context.id, [])
                 if _ASKS_FIGURE.search(q.question) and all(_NUMERAL.search(a) for a in q.answers)]
        if not asked:
            continue
        chosen = min(asked, key=lambda q: hashlib.sha256(q.question.encode("utf-8")).hexdigest())
        rest = "".join(s for s in SENTENCE.findall(context.text)
                       if s.strip() and not any(a in s for a in chosen.answers))
        if len(rest) < MIN_CUT_CHARS or any(a in rest for a in chosen.answers):
            continue
        cut.append(Context(context.id, context.title, rest))
        nearmiss.append(chosen)
        intact += [q for q in by_context[context.id] if q is not chosen and any(a in rest for a in q.answers)]
    return cut, nearmiss, intact
