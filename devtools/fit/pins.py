"""Fit and check the pin matcher (``bot/pins.json``): when is a new question one a pin answers?

Data, all in the repository: paraphrase groups (``tests/fixtures/pins_paraphrases.yaml``: one question asked three
ways and the sentence answering it), the dev and held-out sets and off-topic questions (``pins_offtopic.yaml``, a
tenth of CMRC 2018 and DRCD). Each phrasing is pinned in turn; pairs with another phrasing of its group are
positives; negatives are every off-topic question, and every dev, held-out or group question about another
section or about nothing the article answers (questions about the pinned section are left out). The threshold
is the least log-odds no negative of the fit reaches. Checked by group: each group is left out of a fit in turn
and its phrasings are matched by that fit; ``--external`` adds the other nine tenths of the off-topic sets.

``pin-targets`` measures the issue's target with the whole bot: a copy of knowledge/ with one phrasing of each
group pinned, the two others asked.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.chunking import split_sentences
from bot.config import Settings
from bot.embedding import load_embedder
from bot.index import load_index
from bot.normalize import fold
from bot.pin_match import PIN_FEATURES, PinModel, PinnedQuestion, pair_features
from bot.search import Searcher
from bot.squad import read_squad

from .linear import logistic


@dataclass(frozen=True)
class Asked:
    """A question as the matcher compares it, with what it is about."""

    text: str
    origin: str  # the group id, 'dev', 'heldout' or an off-topic set's name
    sections: tuple[str, ...]  # the sections that answer it (none: off-topic)
    compared: PinnedQuestion
    dense: np.ndarray  # its cosine with every passage
    row: int = -1  # a group's phrasing: the passage its pin points to
    evidence: tuple[str, ...] = ()  # folded: the text answering it (a group's: its whole pinned sentence)


def _groups(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8")))


def collect(settings: Settings, groups_file: Path, sets: list[Path], offtopic_file: Path,
            external: list[Path]) -> tuple[list[Asked], list[Asked], list[Asked], list[str]]:
    """(group phrasings, everything else fitted on, external off-topic questions to check on, each passage's
    folded text)."""
    embedder = load_embedder(settings)
    searcher = Searcher(load_index(settings, embedder.model_id), embedder, settings)
    chunks = searcher.index.chunks
    vectors = np.asarray(searcher.index.chunk_vectors)

    def asked(texts: list[str], origin: str, sections: tuple[str, ...] = (), row: int = -1,
              evidence: tuple[str, ...] = ()) -> list[Asked]:
        return [Asked(t, origin, sections, c, vectors @ c.vector, row, tuple(map(fold, evidence)))
                for t, c in zip(texts, searcher.pinned_questions(texts))]

    grouped = []
    for g in _groups(groups_file):
        row = next(i for i, c in enumerate(chunks) if c.section == g["section"] and fold(g["sentence"]) in fold(c.text))
        sentence = next(s for s in split_sentences(chunks[row].text) if fold(g["sentence"]) in fold(s))
        grouped += asked(g["questions"], g["id"], (g["section"],), row, (sentence,))
    others: list[Asked] = []
    for path in sets:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            sample = item.get("sample")
            if sample:  # 'none': a question about the article it does not answer
                sections = tuple(sample) if isinstance(sample, list) else () if sample == "none" else (sample,)
                others += asked([item["q"]], path.stem, sections, evidence=tuple(item.get("evidence") or ()))
    for name, questions in yaml.safe_load(offtopic_file.read_text(encoding="utf-8")).items():
        others += asked(list(questions), name)
    seen = {a.text for a in others}
    outside = [a for path in external
               for a in asked([q.question for q in read_squad(path)[1] if q.question not in seen], path.name)]
    passages = [fold(c.embedding_text) for c in chunks]
    return grouped, others, outside, passages


def _label(pinned: Asked, other: Asked) -> bool | None:
    """True: the pin should answer ``other``; False: it must not; None: another question about the pinned
    section (its passage is the right one to show: whether the pinned sentence may be, ``_other_fact`` says)."""
    if other.origin == pinned.origin:
        return True
    return None if pinned.sections[0] in other.sections else False


def _other_fact(pinned: Asked, other: Asked) -> bool:
    """``other`` asks about the pinned section but is answered by none of the pinned sentence."""
    return (other.origin != pinned.origin and pinned.sections[0] in other.sections and bool(other.evidence)
            and not any(e in pinned.evidence[0] for e in other.evidence))


def features(pinned: Asked, other: Asked, passages: list[str]) -> np.ndarray:
    return pair_features(other.compared, pinned.compared, passages[pinned.row], float(other.dense[pinned.row]),
                         float(other.dense.max()))


def pairs(pinned: list[Asked], others: list[Asked], passages: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for p in pinned:
        for o in others:
            if o is p:
                continue
            label = _label(p, o)
            if label is not None:
                rows.append(features(p, o, passages))
                labels.append(label)
    return np.vstack(rows), np.array(labels, dtype=bool)


def _above(values: np.ndarray) -> float:
    return float(np.nextafter(np.float32(values.max()), np.float32(np.inf))) if len(values) else -np.inf


def fit_model(x: np.ndarray, y: np.ndarray, c: float, other_facts: np.ndarray) -> PinModel:
    """The matcher, its threshold (above every negative) and its sentence threshold (also above every question
    about another fact of the pinned section: below it the pinned passage is shown, the sentence chosen)."""
    model = logistic(x, y, PIN_FEATURES, c)
    threshold = _above(model.decision(x[~y]))
    sentence = max(threshold, _above(model.decision(other_facts))) if len(other_facts) else threshold
    return PinModel(model, threshold, {}, sentence)


def other_fact_pairs(pinned: list[Asked], others: list[Asked], passages: list[str]) -> np.ndarray:
    rows = [features(p, o, passages) for p in pinned for o in others if _other_fact(p, o)]
    return np.vstack(rows) if rows else np.zeros((0, len(PIN_FEATURES)), np.float32)


def _captures(model: PinModel, pinned: list[Asked], asked: list[Asked], passages: list[str],
              sentence: bool = False) -> int:
    """How many of ``asked`` some pin of ``pinned`` would answer (``sentence``: with the pinned sentence)."""
    if not asked:
        return 0
    x = np.vstack([features(p, a, passages) for a in asked for p in pinned])
    scores = model.match.decision(x).reshape(len(asked), len(pinned))
    return int((scores.max(axis=1) >= (model.sentence_threshold if sentence else model.threshold)).sum())


def fit(grouped: list[Asked], others: list[Asked], outside: list[Asked], passages: list[str],
        c: float) -> tuple[PinModel, dict]:
    """The model fitted on everything, and the check of one fit per left-out group."""
    everything = grouped + others
    x, y = pairs(grouped, everything, passages)
    model = fit_model(x, y, c, other_fact_pairs(grouped, everything, passages))
    names = list(dict.fromkeys(a.origin for a in grouped))
    found = total = wrong = asked_others = quoted = 0
    for name in names:
        inside = [a for a in grouped if a.origin != name]
        left = [a for a in grouped if a.origin == name]
        fold_x, fold_y = pairs(inside, inside + others, passages)
        fold_model = fit_model(fold_x, fold_y, c, other_fact_pairs(inside, inside + others, passages))
        for p in left:  # each phrasing pinned, the other two asked
            for a in left:
                if a is not p:
                    total += 1
                    found += _captures(fold_model, [p], [a], passages)
                    quoted += _captures(fold_model, [p], [a], passages, sentence=True)
        # the left-out group's pins must not capture questions about other facts
        strangers = [o for o in others + inside if _label(left[0], o) is False]
        wrong += _captures(fold_model, left, strangers, passages)
        asked_others += len(strangers)
    report = {
        "pairs": {"positive": int(y.sum()), "negative": int((~y).sum())},
        "fit": {"paraphrases_matched": round(float((model.match.decision(x[y]) >= model.threshold).mean()), 4),
                "paraphrases_quoting_the_pinned_sentence": round(float(
                    (model.match.decision(x[y]) >= model.sentence_threshold).mean()), 4),
                "negatives_matched": int((model.match.decision(x[~y]) >= model.threshold).sum())},
        "check_by_group": {"paraphrases_matched": round(found / total, 4), "n": total,
                           "paraphrases_quoting_the_pinned_sentence": round(quoted / total, 4),
                           "other_questions_captured": wrong, "of": asked_others},
    }
    if outside:
        report["check_external_offtopic"] = {"captured": _captures(model, grouped, outside, passages),
                                             "of": len(outside)}
    return model, report


def format_report(report: dict) -> str:
    check, fitted = report["check_by_group"], report["fit"]
    lines = [f"pairs: {report['pairs']['positive']} paraphrase, {report['pairs']['negative']} other",
             f"fit: paraphrase pairs matched {fitted['paraphrases_matched']:.3f}, other pairs matched "
             f"{fitted['negatives_matched']}",
             f"check (each group left out of its fit): paraphrases matched {check['paraphrases_matched']:.3f} "
             f"(n={check['n']}; the pinned sentence quoted {check['paraphrases_quoting_the_pinned_sentence']:.3f}), "
             f"other questions captured {check['other_questions_captured']} of {check['of']}"]
    if "check_external_offtopic" in report:
        external = report["check_external_offtopic"]
        lines.append(f"check (off-topic questions not fitted on): captured {external['captured']} of "
                     f"{external['of']}")
    return "\n".join(lines)


def pinned_copy(knowledge_dir: Path, groups_file: Path, target: Path, chunk_max_chars: int) -> list[dict[str, Any]]:
    """A copy of ``knowledge_dir`` at ``target`` with the first phrasing of every group pinned to its sentence;
    the groups, for asking the others."""
    from bot.chunking import chunk_knowledge
    from bot.knowledge import load_knowledge
    from bot.pins import add_pin, new_pin

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(knowledge_dir, target)
    knowledge = load_knowledge(target)
    chunks = chunk_knowledge(knowledge, chunk_max_chars)
    groups = _groups(groups_file)
    for group in groups:
        chunk = next(c for c in chunks if c.section == group["section"] and fold(group["sentence"]) in fold(c.text))
        article = knowledge.section(chunk.section).article_id  # type: ignore[union-attr]
        add_pin(target, new_pin(group["questions"][0], chunk, article, group["sentence"], by="pin-targets"))
    return groups

