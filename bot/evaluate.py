"""Scoring a question set: the metrics of the team's scorer (hit@1/3, MRR, multi cover, figures, abstention),
plus a per-kind breakdown and the misses, so content editors see what to fix.

Comparison ignores whitespace and folds Traditional to Simplified, like the scorer, so a reply written
back in the user's script still counts.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from .baseline import BaselineBM25
from .config import Settings
from .embedding import load_embedder
from .engine import Engine
from .index import build_index
from .normalize import to_simplified
from .reply import Answer
from .squad import Context, Question, answer_rank, cut_answers, read_squad, write_knowledge
from .text import SENTENCE_END_MARKS

MAX_PASSAGE_CHARS = 300


def _norm(text: str) -> str:
    return to_simplified(re.sub(r"\s+", "", text or ""))


# -- what a person reads first: the quoted sentence, the bold figure, an honest "not given" ------------------
# The same rules as the team's scorer (answer_score.py), so the figures can be compared.

_READ_FORM = re.compile(r"[\s,，]")
_SENTENCE = re.compile(f"[^{SENTENCE_END_MARKS}]+[{SENTENCE_END_MARKS}]?")  # closing quotes start the next
MAX_FIGURE_CHARS = 24  # a bold "figure" longer than this is a phrase, not a figure


def read_form(text: str | None) -> str:
    """How answers are compared: whitespace and commas removed, Traditional folded to Simplified."""
    return to_simplified(_READ_FORM.sub("", text or ""))


def is_numeric(answer: str) -> bool:
    return re.search(r"\d", answer) is not None


def lead_holds(lead: str, answers: list[str] | tuple[str, ...]) -> bool:
    """lead@1: the quoted sentence contains a gold answer."""
    quoted = read_form(lead)
    return bool(quoted) and any(read_form(a) in quoted for a in answers)


def figure_matches(figure: str | None, answers: list[str] | tuple[str, ...]) -> bool:
    """figure@1: the bold figure and a gold answer contain one another, and it is no longer than a figure."""
    bold = read_form(figure)
    return 0 < len(bold) <= MAX_FIGURE_CHARS and any(read_form(a) in bold or bold in read_form(a) for a in answers)


def overlap_lead(question: str, passage: str) -> str:
    """The trivial baseline: the first passage's sentence sharing most characters with the question."""
    asked = set(read_form(question))
    sentences = [t for t in _SENTENCE.findall(passage) if t.strip()]
    return max(sentences, key=lambda t: len(asked & set(read_form(t))) / (1 + 0.002 * len(t)), default="")


def bold_figure(output: dict[str, Any]) -> str:
    """The figure a reader sees in bold: ``figure``, else the first of ``figures``."""
    figure = output.get("figure")
    return figure if figure is not None else next(iter(output.get("figures") or []), "")


def handled(output: dict[str, Any]) -> bool:
    """A near-miss question is handled when declined or told the figure is not given."""
    return not output.get("answered") or output.get("reason") == "no_figure"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_item(item: dict[str, Any], output: dict[str, Any], k: int = 3) -> dict[str, list[float]]:
    """Metric contributions of one question (each metric a list of 0/1 or fractions)."""
    metrics: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        metrics.setdefault(key, []).append(value)

    answered = bool(output.get("answered"))
    passages = [_norm(p.get("text", "")) for p in output.get("passages", [])]
    reply = _norm(output.get("reply", ""))
    kind = item["kind"]
    if kind == "unanswerable":
        add("abstain_" + item.get("unanswerable", "offtopic"), 0.0 if answered else 1.0)
        add("nearmiss_handled", float(handled(output)))
        return metrics
    if kind != "multi" and "q" in item:
        lead = output.get("answer", "") if answered else ""
        first = (output.get("passages") or [{}])[0].get("text", "")
        figures, evidence = item.get("figures") or [], item.get("evidence") or []
        add("lead@1", float(article_lead(lead, figures, evidence)))
        add("overlap_lead@1", float(answered and article_lead(overlap_lead(item["q"], first), figures, evidence)))
        if item.get("figures"):
            add("figure@1", float(answered and figure_matches(bold_figure(output), item["figures"])))
    add("answered", 1.0 if answered else 0.0)
    ranks = []
    for evidence in (_norm(e) for e in item["evidence"]):
        ranks.append(next((i + 1 for i, text in enumerate(passages) if evidence in text), None))
    if kind == "multi":
        add("multi_cover@5", sum(1 for r in ranks if r is not None and r <= k + 2) / len(ranks))
    else:
        best = min((r for r in ranks if r is not None), default=None)
        add("hit@1", 1.0 if answered and best == 1 else 0.0)
        add("hit@3", 1.0 if answered and best is not None and best <= k else 0.0)
        add("mrr", 1.0 / best if answered and best else 0.0)
        add(f"hit@3[{kind}]", 1.0 if answered and best is not None and best <= k else 0.0)
    for figure in item.get("figures") or []:
        add("figure_in_reply", 1.0 if answered and _norm(figure) in reply else 0.0)
    return metrics


def article_lead(lead: str, figures: list[str] | tuple[str, ...], evidence: list[str] | tuple[str, ...]) -> bool:
    """lead@1 on the article's sets: the quoted sentence has the expected figure, else the evidence."""
    if figures:
        return lead_holds(lead, figures)
    quoted = read_form(lead)
    return bool(quoted) and any(read_form(e)[:12] in quoted or quoted[:20] in read_form(e) for e in evidence)


def evaluate(engine: Engine, path: Path) -> dict[str, Any]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    totals: dict[str, list[float]] = {}
    misses = []
    lengths: list[int] = []
    started = time.perf_counter()
    for item in items:
        output = engine.answer(item["q"]).to_json()
        lengths += [len(_norm(p["text"])) for p in output["passages"]]
        metrics = score_item(item, output)
        for key, values in metrics.items():
            totals.setdefault(key, []).extend(values)
        failed = [key for key, values in metrics.items()
                  if key in ("hit@1", "multi_cover@5", "figure_in_reply", "answered", "lead@1", "figure@1")
                  or key.startswith("abstain_") if min(values) < 1.0]
        if failed:
            misses.append({
                "id": item.get("id"), "kind": item["kind"], "q": item["q"], "failed": failed,
                "evidence": item.get("evidence"), "answered": output["answered"],
                "top": [f"{p['section']} {p['score']:.2f} {p['text'][:40]}" for p in output["passages"][:3]],
            })
    seconds = time.perf_counter() - started
    means = {key: _mean(values) for key, values in sorted(totals.items())}
    return {
        "baseline": _baseline_on_items(engine, items),
        "questions": len(items),
        "metrics": means,
        "counts": {key: len(values) for key, values in totals.items()},
        "max_passage_chars": max(lengths, default=0),
        "passages_over_limit": sum(1 for n in lengths if n > MAX_PASSAGE_CHARS),
        "ms_per_question": 1000 * seconds / max(1, len(items)),
        "misses": misses,
    }


def _baseline_on_items(engine: Engine, items: list[dict[str, Any]]) -> dict[str, float]:
    """hit@1 / hit@3 of the textbook BM25 over the same passages, on the questions with one answer."""
    bm25 = BaselineBM25(engine.index.chunks)
    ranks = []
    for item in items:
        if item["kind"] in ("unanswerable", "multi"):
            continue
        passages = [_norm(c.text) for c in bm25.rank(item["q"])]
        ranks.append(min((i + 1 for i, text in enumerate(passages) for e in item["evidence"] if _norm(e) in text),
                         default=None))
    return {"hit@1": _mean([float(r == 1) for r in ranks]),
            "hit@3": _mean([float(r is not None and r <= 3) for r in ranks])}


def format_report(report: dict[str, Any], show_misses: bool = True) -> str:
    lines = [f"{report['questions']} questions, {report['ms_per_question']:.1f} ms/question (warm)"]
    for key, value in report["metrics"].items():
        lines.append(f"  {key:24s} {value:.3f}  (n={report['counts'][key]})")
    if "baseline" in report:
        lines.append(f"  {'BM25 baseline hit@1/hit@3':24s} {report['baseline']['hit@1']:.3f} / "
                     f"{report['baseline']['hit@3']:.3f}")
    lines.append(f"  {'max_passage_chars':24s} {report['max_passage_chars']}"
                 f"  ({report['passages_over_limit']} over {MAX_PASSAGE_CHARS})")
    if show_misses and report["misses"]:
        lines.append("misses:")
        for miss in report["misses"]:
            lines.append(f"  {miss['id']} [{miss['kind']}] {miss['q']}  failed: {', '.join(miss['failed'])}")
            lines += [f"      {t}" for t in miss["top"]]
    return "\n".join(lines)


def evaluate_followups(conversation: Any, path: Path) -> dict[str, Any]:
    """Follow-up pairs (``turns``): the last question asked in a fresh chat after the earlier ones, and alone.
    hit@1 = the first passage holds the evidence; figure_in_reply = the gold figures are in the reply."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    totals: dict[str, list[float]] = {}
    misses = []
    for item in items:
        memory: dict[str, Any] = {}
        for question in item["turns"][:-1]:
            conversation.respond(question, memory)
        last = item["turns"][-1]
        for mode, output in (("in_context", conversation.respond(last, memory).to_json()),
                             ("alone", conversation.respond(last, {}).to_json())):
            metrics = score_item({"kind": "followup", **item}, output)
            for key, values in metrics.items():
                totals.setdefault(f"{mode} {key}", []).extend(values)
            if mode == "in_context" and min(metrics.get("hit@1", [1.0])) < 1.0:
                misses.append({"id": item["id"], "kind": "followup", "q": " → ".join(item["turns"]),
                               "failed": ["hit@1"], "evidence": item["evidence"], "answered": output["answered"],
                               "top": [f"{p['section']} {p['score']:.2f} {p['text'][:40]}"
                                       for p in output["passages"][:3]]})
    means = {key: _mean(values) for key, values in sorted(totals.items()) if "[" not in key}
    return {"questions": len(items), "metrics": means,
            "counts": {key: len(totals[key]) for key in means}, "max_passage_chars": 0,
            "passages_over_limit": 0, "ms_per_question": 0.0, "misses": misses}


# -- SQuAD-style sets (CMRC 2018, DRCD): the bot over content nobody here tuned for, beside a baseline --------

def squad_work_dir(path: Path, settings: Settings, root: Path | None = None) -> Path:
    """Where the set's temporary knowledge and index live: one folder per file and chunk size, kept between
    runs so a rebuild re-embeds nothing that did not change."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return (root or Path(tempfile.gettempdir())) / f"bot-eval-{digest}-{settings.chunk_max_chars}"


def squad_settings(path: Path, settings: Settings, root: Path | None = None,
                   progress: bool = False) -> tuple[Settings, list[Question]]:
    """Index the set's contexts (each a section of its own article) and return settings that load that index,
    with the set's questions."""
    contexts, questions = read_squad(path)
    return index_contexts(contexts, squad_work_dir(path, settings, root), settings, progress), questions


def index_contexts(contexts: list[Context], work: Path, settings: Settings, progress: bool = False) -> Settings:
    """``contexts`` written as knowledge under ``work`` and indexed there; settings that load that index."""
    knowledge_dir, index_dir = work / "knowledge", work / "index"
    write_knowledge(contexts, knowledge_dir)
    local = settings.replace(knowledge_dir=str(knowledge_dir), index_dir=str(index_dir))
    build_index(local, load_embedder, progress=progress)
    return local


def nearmiss_settings(path: Path, settings: Settings, root: Path | None = None,
                      progress: bool = False) -> tuple[Settings, list[Question], list[Question]]:
    """The set's near-miss version (bot.squad.cut_answers) indexed beside it: settings, the questions whose
    figure was cut out, and the cut contexts' other questions."""
    cut, nearmiss, intact = cut_answers(*read_squad(path))
    work = squad_work_dir(path, settings, root).with_name(squad_work_dir(path, settings, root).name + "-cut")
    return index_contexts(cut, work, settings, progress), nearmiss, intact


def evaluate_squad(engine: Engine, questions: list[Question], baseline: bool = True) -> dict[str, Any]:
    """hit@1/3/5, MRR, right-text@1 (first passage from the question's own context), answered and ms/question
    of the bot, and the same ranking figures of the textbook BM25 over the same passages; what is read first:
    lead@1 (the quoted sentence holds a gold answer) beside the overlap baseline, figure@1 (the bold figure
    is the gold amount, on questions whose answer is one) and the quoted sentence's mean length."""
    bot: dict[str, list[float]] = {}
    started = time.perf_counter()
    for question in questions:
        output = engine.answer(question.question)
        passages = [p.text for p in output.passages]
        rank = answer_rank(question.answers, passages) if output.answered else None
        first_context = bool(output.answered and output.passages and output.passages[0].section == question.context_id)
        _add_ranking(bot, rank, first_context)
        _add_reading(bot, question, output)
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {"questions": len(questions), "passages": len(engine.index.chunks),
                              "metrics": {k: _mean(v) for k, v in bot.items()},
                              "counts": {k: len(v) for k, v in bot.items()},
                              "ms_per_question": 1000 * seconds / max(1, len(questions))}
    if baseline:
        bm25 = BaselineBM25(engine.index.chunks)
        base: dict[str, list[float]] = {}
        started = time.perf_counter()
        for question in questions:
            ranked = bm25.rank(question.question)
            rank = answer_rank(question.answers, [c.text for c in ranked])
            _add_ranking(base, rank, bool(ranked) and ranked[0].section == question.context_id)
        report["baseline"] = {k: _mean(v) for k, v in base.items()}
        report["baseline_ms_per_question"] = 1000 * (time.perf_counter() - started) / max(1, len(questions))
    return report


def _add_reading(metrics: dict[str, list[float]], question: Question, output: Answer) -> None:
    answered = output.answered
    metrics.setdefault("answered", []).append(float(answered))
    metrics.setdefault("lead@1", []).append(float(answered and lead_holds(output.lead, question.answers)))
    first = output.passages[0].text if output.passages else ""
    metrics.setdefault("overlap_lead@1", []).append(
        float(answered and lead_holds(overlap_lead(question.question, first), question.answers)))
    if answered:
        metrics.setdefault("answer_chars", []).append(float(len(output.lead)))
    numeric = [a for a in question.answers if is_numeric(a)]
    if numeric:
        bold = bold_figure({"figure": output.figure, "figures": output.figures})
        metrics.setdefault("figure@1", []).append(float(answered and figure_matches(bold, numeric)))


def evaluate_nearmiss(engine: Engine, nearmiss: list[Question], intact: list[Question]) -> dict[str, Any]:
    """The cut set (bot.squad.cut_answers): near-miss questions handled (declined or told "not given"), and the
    cut contexts' other questions still answered."""
    handled_ = [float(not engine.answer(q.question).answered) for q in nearmiss]
    answered = [float(engine.answer(q.question).answered) for q in intact]
    return {"nearmiss": len(nearmiss), "handled": _mean(handled_), "intact": len(intact),
            "intact_answered": _mean(answered)}


def _add_ranking(metrics: dict[str, list[float]], rank: int | None, first_context: bool) -> None:
    for k in (1, 3, 5):
        metrics.setdefault(f"hit@{k}", []).append(float(rank is not None and rank <= k))
    metrics.setdefault("mrr", []).append(1.0 / rank if rank else 0.0)
    metrics.setdefault("right_text@1", []).append(float(first_context))


def evaluate_offtopic(engine: Engine, questions: list[Question]) -> dict[str, Any]:
    """Questions of another set asked against this content: every one should be declined."""
    answered = [q.question for q in questions if engine.answer(q.question).answered]
    return {"questions": len(questions), "declined": 1 - len(answered) / max(1, len(questions)),
            "answered_examples": answered[:10]}


def format_squad_report(name: str, report: dict[str, Any]) -> str:
    keys = ("hit@1", "hit@3", "hit@5", "mrr", "right_text@1")
    metrics, counts = report["metrics"], report.get("counts", {})
    lines = [f"{name}: {report['questions']} questions over {report['passages']} passages, "
             f"{report['ms_per_question']:.1f} ms/question (warm)",
             f"  {'':10s} " + " ".join(f"{k:>12s}" for k in keys) + f" {'answered':>12s}",
             f"  {'bot':10s} " + " ".join(f"{report['metrics'][k]:12.3f}" for k in keys)
             + f" {report['metrics']['answered']:12.3f}"]
    if "baseline" in report:
        lines.append(f"  {'BM25':10s} " + " ".join(f"{report['baseline'][k]:12.3f}" for k in keys)
                     + f" {1.0:12.3f}   ({report['baseline_ms_per_question']:.1f} ms/question)")
    lines.append(f"  read first: lead@1 {metrics['lead@1']:.3f} (overlap baseline {metrics['overlap_lead@1']:.3f}), "
                 f"figure@1 {metrics.get('figure@1', 0.0):.3f} (n={counts.get('figure@1', 0)}), "
                 f"quoted sentence {metrics.get('answer_chars', 0.0):.0f} characters on average")
    if "nearmiss" in report:
        near = report["nearmiss"]
        lines.append(f"  near-miss (answers' sentences cut out): handled {near['handled']:.3f} (n={near['nearmiss']}), "
                     f"the cut contexts' other questions answered {near['intact_answered']:.3f} (n={near['intact']})")
    return "\n".join(lines)
