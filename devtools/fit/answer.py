"""Fit the answer models (bot/answer.json): the quoted sentence, the bold figure, and "not given".

Sets: SQuAD-style files (CMRC 2018, DRCD), each context a section of its own, and their near-miss versions
(bot.squad.cut_answers: one amount question per context has its answer's sentences cut out; the context's
other questions stay answerable), plus the article's dev (fitted on) and held-out (only checked) sets. SQuAD
sets are split by a stable hash of the context id, the same split in the full and the cut set: the even half
is fitted on, the odd half only checked.

Three logistic regressions, fitted in turn, each on features the answer step computes (bot/answer/reading.py):
the sentence model ("this sentence holds a gold answer"), the figure model ("this figure is the gold amount",
with the sentence model's score as a feature) and the given model ("the shown passages give the asked figure":
positives are answerable questions asking a figure, negatives the near-miss questions and the article's
unanswerable ones). The given model's threshold is set so that at most ``--max-not-given`` of the fitted
answerable questions asking a figure are told it is not given, and folded into its bias.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.answer.choose import asks_figure, choose, not_given_by_definition
from bot.answer.model import FIGURE_FEATURES, GIVEN_FEATURES, SENTENCE_FEATURES, AnswerModel
from bot.answer.reading import Reading, read
from bot.config import Settings
from bot.embedding import load_embedder
from bot.evaluate import (
    article_lead,
    figure_matches,
    is_numeric,
    lead_holds,
    nearmiss_settings,
    overlap_lead,
    squad_settings,
)
from bot.index import load_index
from bot.ranking import LinearModel
from bot.search import Searcher, SearchResult
from bot.squad import Question


@dataclass
class Case:
    """One question asked against its content, with what a reader should find."""

    set: str
    fit: bool  # in the half fitted on
    question: str
    answers: tuple[str, ...]  # gold answers (SQuAD) or the article's figures / evidence
    figures: tuple[str, ...]  # the gold amounts figure@1 is scored on
    nearmiss: bool  # the asked figure is not in the content: "not given" (or a decline) is right
    evidence: bool  # article questions without a figure: the lead is scored against evidence sentences
    result: SearchResult
    reading: Reading | None = None
    holds: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # which sentences hold the answer
    matches: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # which figures are the gold amount


def in_fit_half(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0


def holds_answer(case: Case, sentence: str) -> bool:
    """The scorer's rule for a quoted sentence: a gold answer in it (article: the figure, else the evidence)."""
    return article_lead(sentence, (), case.answers) if case.evidence else lead_holds(sentence, case.answers)


def _case(searcher: Searcher, name: str, fit: bool, question: str, answers: tuple[str, ...],
          figures: tuple[str, ...], nearmiss: bool = False, evidence: bool = False) -> Case:
    result = searcher.search(question)
    case = Case(name, fit, question, answers, figures, nearmiss, evidence, result)
    if result.answered and result.shown:
        case.reading = read(result)
        case.holds = np.array([holds_answer(case, s.text) for s in case.reading.sentences], bool)
        case.matches = np.array([figure_matches(f.text, figures) for _, f in case.reading.figures], bool)
    return case


def _squad_cases(searcher: Searcher, name: str, questions: list[Question], nearmiss: bool = False) -> list[Case]:
    return [_case(searcher, name, in_fit_half(q.context_id), q.question, q.answers,
                  tuple(a for a in q.answers if is_numeric(a)), nearmiss) for q in questions]


def collect(settings: Settings, squad_files: list[Path], article_sets: dict[str, Path], work_dir: Path | None,
            log: Callable[[str], None]) -> list[Case]:
    embedder = load_embedder(settings)
    searcher_of = lambda local: Searcher(load_index(local, embedder.model_id), embedder, local)  # noqa: E731
    cases: list[Case] = []
    for path in squad_files:
        local, questions = squad_settings(path, settings, work_dir)
        log(f"{path.stem}: {len(questions)} questions")
        cases += _squad_cases(searcher_of(local), path.stem, questions)
        cut, nearmiss, intact = nearmiss_settings(path, settings, work_dir)
        log(f"{path.stem} cut: {len(nearmiss)} near-miss, {len(intact)} intact questions")
        cut_searcher = searcher_of(cut)
        cases += _squad_cases(cut_searcher, f"{path.stem} cut", nearmiss, nearmiss=True)
        cases += _squad_cases(cut_searcher, f"{path.stem} intact", intact)
    article = searcher_of(settings)
    for name, path in article_sets.items():
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            if item["kind"] == "multi":
                continue
            figures = tuple(item.get("figures") or ())
            negative = item["kind"] == "unanswerable"
            cases.append(_case(article, name, name == "dev", item["q"], figures or tuple(item.get("evidence") or ()),
                               figures, nearmiss=negative, evidence=not figures and not negative))
    return cases


ARTICLE_WEIGHT = 3.0  # the article's dev set weighs as much as this many encyclopedia sets: it is the content served


def _set_weights(groups: list[str]) -> np.ndarray:
    """Every set weighs the same in all, whatever its number of questions; the article's set ARTICLE_WEIGHT times."""
    size: dict[str, int] = {}
    for g in groups:
        size[g] = size.get(g, 0) + 1
    return np.array([(ARTICLE_WEIGHT if g.startswith("dev") else 1.0) / size[g] for g in groups])


def _fit_choice(x: list[np.ndarray], y: list[np.ndarray], groups: list[str], names: tuple[str, ...],
                l2: float) -> LinearModel:
    """A conditional logit: per question, the softmax over its candidates (sentences, figures) of the linear
    score should put its mass on the right ones. What counts is the choice within a question, so this fits that
    instead of judging every candidate on its own; L2-penalised, on standardized features."""
    from scipy.optimize import minimize

    from .linear import standardize

    mean, scale = standardize(np.vstack(x))
    z = np.vstack([(rows - mean) / scale for rows in x]).astype(np.float64)
    labels = np.concatenate(y).astype(np.float64)
    starts = np.cumsum([0] + [len(rows) for rows in x])[:-1]
    of = np.repeat(np.arange(len(x)), [len(rows) for rows in x])
    weights = _set_weights(groups)
    weights /= weights.sum()

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        score = z @ beta
        top = np.maximum.reduceat(score, starts)
        e = np.exp(score - top[of])
        total, right = np.add.reduceat(e, starts), np.add.reduceat(e * labels, starts)
        share, right_share = e / total[of], e * labels / np.maximum(right[of], 1e-300)
        value = -float(weights @ (np.log(np.maximum(right, 1e-300)) - np.log(total))) + l2 * float(beta @ beta)
        return value, -((right_share - share) * weights[of]) @ z + 2 * l2 * beta

    beta = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    return LinearModel(names, mean, scale, beta.astype(np.float32), 0.0)


def _fit_binary(x: np.ndarray, y: np.ndarray, groups: list[str], names: tuple[str, ...], c: float) -> LinearModel:
    """Logistic regression, every (set, label) group weighing the same."""
    from sklearn.linear_model import LogisticRegression

    from .linear import standardize

    mean, scale = standardize(x)
    weights = _set_weights(groups)
    fitted = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, y,
                                                        sample_weight=weights * len(y) / weights.sum())
    return LinearModel(names, mean, scale, fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]))


def fit(cases: list[Case], max_not_given: float, c: float = 1.0,
        l2: float = 0.01) -> tuple[AnswerModel, dict[str, Any]]:
    fitted = [k for k in cases if k.fit and k.reading is not None and not k.nearmiss]
    chosen = [k for k in fitted if k.holds.any()]
    sentence = _fit_choice([k.reading.sentence_x for k in chosen if k.reading], [k.holds for k in chosen],
                           [k.set.split()[0] for k in chosen], SENTENCE_FEATURES, l2)
    with_figure = [k for k in fitted if k.matches.any()]
    figure = _fit_choice([k.reading.figure_x(sentence.decision(k.reading.sentence_x)) for k in with_figure
                          if k.reading], [k.matches for k in with_figure], [k.set.split()[0] for k in with_figure],
                         FIGURE_FEATURES, l2)

    rows, labels, groups, answerable = [], [], [], []
    ruled = 0  # answerable questions the definitions already call "not given" (bot.answer.choose)
    for k in cases:
        if not k.fit or k.reading is None or not k.reading.figures or not asks_figure(k.reading):
            continue
        if not_given_by_definition(k.reading):
            ruled += not k.nearmiss
            continue
        s = sentence.decision(k.reading.sentence_x)
        rows.append(k.reading.given_x(s, figure.decision(k.reading.figure_x(s)))[0])
        labels.append(not k.nearmiss)
        groups.append(f"{k.set.split()[0]}:{k.nearmiss}")
        answerable.append(not k.nearmiss)
    x, y = np.vstack(rows), np.array(labels)
    given = _fit_binary(x, y, groups, GIVEN_FEATURES, c)
    # the threshold: at most max_not_given of the fitted answerable questions asking a figure are told "not given"
    positives = np.sort(given.decision(x[y]))
    allowed = max(0, int(np.floor(max_not_given * (len(positives) + ruled))) - ruled)
    threshold = float(positives[min(allowed, len(positives) - 1)]) - 1e-4 if len(positives) else 0.0
    given = LinearModel(given.features, given.mean, given.scale, given.weights, given.bias - threshold)
    model = AnswerModel(sentence, figure, given, {})
    return model, report(cases, model)


def report(cases: list[Case], model: AnswerModel) -> dict[str, Any]:
    """Per set and half: lead@1 (and the overlap baseline), figure@1, answered, near-miss handled, mean length."""
    table: dict[str, dict[str, list[float]]] = {}
    for k in cases:
        row = table.setdefault(f"{k.set} [{'fit' if k.fit else 'check'}]", {})
        choice = choose(k.reading, model) if k.reading is not None else None
        answered = choice is not None and choice.given and choice.sentence is not None
        if k.nearmiss:
            row.setdefault("handled", []).append(float(not answered))
            continue
        lead = choice.sentence.quoted if answered and choice and choice.sentence else ""
        row.setdefault("answered", []).append(float(answered))
        row.setdefault("lead@1", []).append(float(answered and holds_answer(k, lead)))
        first = k.result.hits[0].chunk.text if k.result.hits else ""
        row.setdefault("overlap@1", []).append(float(k.result.answered and holds_answer(
            k, overlap_lead(k.question, first))))
        if answered:
            row.setdefault("chars", []).append(float(len(lead)))
        if k.figures:
            bold = (choice.figure or (choice.figures[0] if choice.figures else None)) if answered and choice else None
            row.setdefault("figure@1", []).append(float(bold is not None and figure_matches(bold.text, k.figures)))
    return {key: {m: round(statistics.fmean(v), 4) for m, v in row.items()}
            | {"n": max(len(v) for v in row.values()), "n_figure": len(row.get("figure@1", []))}
            for key, row in sorted(table.items())}


def format_fit_report(report: dict[str, Any]) -> str:
    metrics = ("lead@1", "overlap@1", "figure@1", "answered", "handled", "chars")
    lines = [f"{'set':32s} {'n':>5s} " + " ".join(f"{m:>9s}" for m in metrics)]
    for key, row in report.items():
        cells = [f"{row[m]:9.3f}" if m in row and m != "chars" else f"{row[m]:9.0f}" if m in row else f"{'':9s}"
                 for m in metrics]
        lines.append(f"{key:32s} {row['n']:5d} " + " ".join(cells) + f"  (figure n={row['n_figure']})")
    return "\n".join(lines)
