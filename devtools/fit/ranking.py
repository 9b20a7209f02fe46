"""Fit the ranking and answerability models (bot/ranking.json) on question sets, and say how they did.

Sets: SQuAD-style files (CMRC 2018, DRCD; each context its own section, indexed apart) and the article's
dev / held-out YAML sets over ``knowledge/``. Every SQuAD set is split by context (a stable hash of the
context id): the even half is fitted on, the odd half only checked. The article's dev set is fitted on,
the held-out set only checked. Negatives for answerability are questions asked against content they are not
about: each SQuAD set's questions against the other sets' contexts and against ``knowledge/``, and the
article sets' off-topic questions.

The passage model is a logistic regression "this candidate holds the answer" over PASSAGE_FEATURES; the
answerability model one over ANSWER_FEATURES with the passage model's scores, every (set, answerable) group
weighing the same. Its threshold is chosen so that at most ``--max-false-answer`` of the fitted questions
asked against unrelated content (knowledge/, the article's off-topic questions) are answered, then folded
into the bias so that the setting abstain_min_score 0.5 is that threshold. Another encyclopedia's questions
are negatives in the fit but do not set the threshold: some of them are answered by the other encyclopedia.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.config import Settings
from bot.embedding import load_embedder
from bot.evaluate import squad_settings
from bot.index import load_index
from bot.normalize import to_simplified
from bot.ranking import ANSWER_FEATURES, PASSAGE_FEATURES, LinearModel, RankingModel, sigmoid
from bot.search import Searcher

from .linear import logistic

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return to_simplified(_SPACE.sub("", text))


@dataclass
class Asked:
    """One question asked against one content, with what was found."""

    set: str
    fit: bool  # in the half fitted on
    answerable: bool
    local: bool  # off-topic for content it has nothing to do with (not another encyclopedia's): must be declined
    features: np.ndarray  # candidates × PASSAGE_FEATURES
    holds: np.ndarray  # which candidates hold a gold answer
    coverage_of: Any  # order → word coverage of the top three (needs the searcher, so computed lazily)
    found: Any


def _in_fit_half(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0


def _zero_model() -> RankingModel:
    def zero(names: tuple[str, ...]) -> LinearModel:
        n = len(names)
        return LinearModel(names, np.zeros(n, np.float32), np.ones(n, np.float32), np.zeros(n, np.float32), 0.0)
    return RankingModel(zero(PASSAGE_FEATURES), zero(ANSWER_FEATURES), {})


def _searcher(settings: Settings, embedder: Any) -> Searcher:
    return Searcher(load_index(settings, embedder.model_id), embedder, settings, model=_zero_model())


def _ask(searcher: Searcher, name: str, question: str, answers: list[str] | None, fit: bool,
         local: bool = False) -> Asked:
    found = searcher.candidates(question)
    gold = [_norm(a) for a in answers or []]
    holds = np.array([any(g in _norm(searcher.index.chunks[i].text) for g in gold) for i in found.ids], dtype=bool)

    def coverage_of(order: np.ndarray) -> tuple[float, float]:
        from bot.search import Hit
        hits = [Hit(searcher.index.chunks[found.ids[i]], 0.0, 0.0, 0.0) for i in order[:3]]
        return searcher.word_coverage(found.query, hits)

    return Asked(name, fit, answers is not None, local, found.features, holds, coverage_of, found)


def collect(settings: Settings, squad_files: list[Path], article_sets: dict[str, Path], negatives_per_set: int,
            work_dir: Path | None, log: Any) -> list[Asked]:
    embedder = load_embedder(settings)
    asked: list[Asked] = []
    sets = []
    for path in squad_files:
        local, questions = squad_settings(path, settings, work_dir)
        sets.append((path.stem, local, questions))
    rng = random.Random(7)
    article_searcher = _searcher(settings, embedder)
    for name, local, questions in sets:
        searcher = _searcher(local, embedder)
        log(f"{name}: {len(questions)} questions over {len(searcher.index.chunks)} passages")
        for q in questions:
            asked.append(_ask(searcher, name, q.question, list(q.answers), _in_fit_half(q.context_id)))
        for other, _, other_questions in sets:  # other sets' questions: off-topic here
            if other != name:
                for q in rng.sample(other_questions, min(negatives_per_set, len(other_questions))):
                    asked.append(_ask(searcher, f"{other}→{name}", q.question, None, _in_fit_half(q.context_id)))
        for q in rng.sample(questions, min(negatives_per_set, len(questions))):
            asked.append(_ask(article_searcher, f"{name}→knowledge", q.question, None, _in_fit_half(q.context_id),
                              local=True))
    for name, path in article_sets.items():
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        log(f"{name}: {len(items)} questions over {len(article_searcher.index.chunks)} passages")
        for item in items:
            if item.get("unanswerable") == "nearmiss":  # the topic is there: the figure check declines these
                continue
            answers = None if item["kind"] == "unanswerable" else list(item["evidence"])
            asked.append(_ask(article_searcher, name, item["q"], answers, name == "dev", local=answers is None))
    return asked


def fit(asked: list[Asked], max_false_answer: float, c: float = 1.0) -> tuple[RankingModel, dict[str, Any]]:
    ranked = [a for a in asked if a.fit and a.answerable and len(a.holds) and a.holds.any()]
    x = np.vstack([a.features for a in ranked])
    y = np.concatenate([a.holds for a in ranked])
    passage = logistic(x, y, PASSAGE_FEATURES, c)

    rows, labels, fit_rows, local_rows = [], [], [], []
    for a in asked:
        scores = passage.decision(a.features) if len(a.holds) else np.zeros(0)
        order = np.argsort(-scores, kind="stable")
        coverage = a.coverage_of(order) if len(order) else (0.0, 1.0)
        rows.append(_answer_features(a, scores, order, coverage))
        labels.append(a.answerable)
        fit_rows.append(a.fit)
        local_rows.append(a.local)
    x_answer, y_answer, in_fit, local = np.vstack(rows), np.array(labels), np.array(fit_rows), np.array(local_rows)
    groups = np.array([f"{a.set}:{a.answerable}" for a in asked])
    answerable = logistic(x_answer[in_fit], y_answer[in_fit], ANSWER_FEATURES, c, groups[in_fit])
    # the threshold: off-topic questions for unrelated content (not another encyclopedia's, which may well hold
    # the answer) answered at most max_false_answer; then it becomes the bias's zero
    negatives = np.sort(answerable.decision(x_answer[in_fit & ~y_answer & local]))
    allowed = int(np.floor(max_false_answer * len(negatives)))
    threshold = float(negatives[len(negatives) - allowed - 1]) + 1e-4 if len(negatives) else 0.0
    answerable = LinearModel(answerable.features, answerable.mean, answerable.scale, answerable.weights,
                             answerable.bias - threshold)
    model = RankingModel(passage, answerable, {})
    return model, _report(asked, model, x_answer)


def _answer_features(a: Asked, scores: np.ndarray, order: np.ndarray, coverage: tuple[float, float]) -> np.ndarray:
    # the searcher's own computation, so fitting and answering read the same numbers
    return Searcher.answer_features(a.found, scores, order, coverage)


def _report(asked: list[Asked], model: RankingModel, x_answer: np.ndarray) -> dict[str, Any]:
    """hit@1 / hit@3 (among candidates; an answered question only) and answered / declined per set and half."""
    answer_p = np.asarray(sigmoid(model.answerable.decision(x_answer)))
    table: dict[str, dict[str, list[float]]] = {}
    for a, p in zip(asked, answer_p):
        key = f"{a.set} [{'fit' if a.fit else 'check'}]"
        row = table.setdefault(key, {})
        answered = p >= 0.5
        if a.answerable:
            scores = model.passage.decision(a.features) if len(a.holds) else np.zeros(0)
            order = np.argsort(-scores, kind="stable")
            rank = next((r for r, i in enumerate(order[:5]) if a.holds[i]), None)
            row.setdefault("rank@1", []).append(float(rank == 0))
            row.setdefault("hit@1", []).append(float(answered and rank == 0))
            row.setdefault("hit@3", []).append(float(answered and rank is not None and rank < 3))
            row.setdefault("answered", []).append(float(answered))
        else:
            row.setdefault("declined", []).append(float(not answered))
    return {key: {m: round(float(np.mean(v)), 4) for m, v in row.items()} | {"n": len(next(iter(row.values())))}
            for key, row in sorted(table.items())}


def format_fit_report(report: dict[str, Any]) -> str:
    lines = [f"{'set':34s} {'n':>5s} {'rank@1':>7s} {'hit@1':>7s} {'hit@3':>7s} {'answered':>9s} {'declined':>9s}"]
    for key, row in report.items():
        cells = [f"{row[m]:7.3f}" if m in row else f"{'':7s}" for m in ("rank@1", "hit@1", "hit@3")]
        cells += [f"{row[m]:9.3f}" if m in row else f"{'':9s}" for m in ("answered", "declined")]
        lines.append(f"{key:34s} {row['n']:5d} " + " ".join(cells))
    return "\n".join(lines)
