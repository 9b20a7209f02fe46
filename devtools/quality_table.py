"""The quality table of the README and docs/quality.md, written from `python -m bot eval --json-out` reports.

Each report is one question set: the article's YAML sets (dev, held-out), a SQuAD-style set over its own
contexts, or a SQuAD-style set asked against knowledge/ as off-topic (--as-offtopic). The textbook BM25 over
the same passages stands beside the bot, because the margin over it is what is tracked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

START, END = "<!-- quality-table -->", "<!-- /quality-table -->"


def _reading(metrics: dict[str, Any], report: dict[str, Any]) -> str:
    """lead@1 (overlap baseline) | figure@1 | near-miss handled: what a person reads first."""
    if "lead@1" not in metrics:
        return " | | |"
    counts = report.get("counts", {})
    figure = f"{metrics['figure@1']:.3f} (n={counts.get('figure@1', 0)})" if "figure@1" in metrics else ""
    near = report.get("nearmiss")
    if near:
        handled = f"{near['handled']:.3f} (n={near['nearmiss']}); others answered {near['intact_answered']:.3f}"
    elif "nearmiss_handled" in metrics:
        handled = f"{metrics['nearmiss_handled']:.3f} (n={counts.get('nearmiss_handled', 0)})"
    else:
        handled = ""
    return f" {metrics['lead@1']:.3f} ({metrics.get('overlap_lead@1', 0.0):.3f}) | {figure} | {handled} |"


def _row(name: str, report: dict[str, Any]) -> str:
    if "declined" in report:  # --as-offtopic
        return (f"| {name} asked against `knowledge/` (off-topic) | {report['questions']} | | "
                f"declined {report['declined']:.3f} | | | | |")
    metrics, base = report["metrics"], report.get("baseline", {})
    answered = metrics.get("answered", 0.0)
    offtopic = metrics.get("abstain_offtopic")
    declined = f"; off-topic declined {offtopic:.3f}" if offtopic is not None else ""
    bot = f"{metrics['hit@1']:.3f} / {metrics['hit@3']:.3f}"
    baseline = f"{base['hit@1']:.3f} / {base['hit@3']:.3f}" if base else ""
    row = f"| {name} | {report['questions']} | {bot} | {answered:.3f}{declined} | {baseline} |"
    return row + _reading(metrics, report)


def quality_table(reports: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["| set | questions | bot hit@1 / hit@3 | answered | BM25 hit@1 / hit@3 | lead@1 (overlap) | figure@1 "
             "| near-miss handled |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [_row(name, report) for name, report in reports]
    return "\n".join(lines)


def load_reports(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    reports = []
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        reports.append((report.get("name") or report.get("file") or path.stem, report))
    return reports


def write_into(path: Path, table: str) -> None:
    """Replace what stands between the quality-table markers of ``path``."""
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{path}: no {START} … {END} markers to write the table between")
    block = f"{START}\n{table}\n{END}"
    path.write_text(re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL),
                    encoding="utf-8")
