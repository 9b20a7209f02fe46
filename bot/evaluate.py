"""Scoring a question set: the metrics of the team's scorer (hit@1/3, MRR, multi cover, figures, abstention),
plus a per-kind breakdown and the misses, so content editors see what to fix.

Comparison ignores whitespace and folds Traditional to Simplified, like the scorer, so a reply written
back in the user's script still counts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import yaml

from .engine import Engine
from .normalize import to_simplified

MAX_PASSAGE_CHARS = 300


def _norm(text: str) -> str:
    return to_simplified(re.sub(r"\s+", "", text or ""))


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
        return metrics
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
                  if key in ("hit@1", "multi_cover@5", "figure_in_reply", "answered")
                  or key.startswith("abstain_") if min(values) < 1.0]
        if failed:
            misses.append({
                "id": item.get("id"), "kind": item["kind"], "q": item["q"], "failed": failed,
                "evidence": item.get("evidence"), "answered": output["answered"],
                "top": [f"{p['section']} {p['score']:.2f} {p['text'][:40]}" for p in output["passages"][:3]],
            })
    seconds = time.perf_counter() - started
    metrics = {key: _mean(values) for key, values in sorted(totals.items())}
    return {
        "questions": len(items),
        "metrics": metrics,
        "counts": {key: len(values) for key, values in totals.items()},
        "max_passage_chars": max(lengths, default=0),
        "passages_over_limit": sum(1 for n in lengths if n > MAX_PASSAGE_CHARS),
        "ms_per_question": 1000 * seconds / max(1, len(items)),
        "misses": misses,
    }


def format_report(report: dict[str, Any], show_misses: bool = True) -> str:
    lines = [f"{report['questions']} questions, {report['ms_per_question']:.1f} ms/question (warm)"]
    for key, value in report["metrics"].items():
        lines.append(f"  {key:24s} {value:.3f}  (n={report['counts'][key]})")
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
    metrics = {key: _mean(values) for key, values in sorted(totals.items()) if "[" not in key}
    return {"questions": len(items), "metrics": metrics,
            "counts": {key: len(totals[key]) for key in metrics}, "max_passage_chars": 0,
            "passages_over_limit": 0, "ms_per_question": 0.0, "misses": misses}
