"""The bench's figures for people: a table on the terminal, Markdown (bench/RESULTS.md), a plot of the scale
part; each read from the results the measuring parts wrote, each figure marked against its target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .measure import ANSWER_PARTS, TARGET_SIZE, TARGETS

Row = tuple[str, str, str, str]  # figure, value, target, mark


def _mark(value: float | None, target: float, higher_is_better: bool = False) -> str:
    if value is None or value != value:
        return ""
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISSED"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _latency_rows(latency: dict[str, Any]) -> list[Row]:
    total, parts = latency["total"], latency["parts"]
    p50, p95 = TARGETS["answer_p50_ms"], TARGETS["answer_p95_ms"]
    rows: list[Row] = [("answer p50 / p95 (warm, real content)", f"{total['p50_ms']:.2f} / {total['p95_ms']:.2f} ms",
                        f"≤ {p50:g} / {p95:g} ms", _mark(max(total["p50_ms"] / p50, total["p95_ms"] / p95), 1.0))]
    rows += [(f"  {name} p50 / p95", f"{parts[name]['p50_ms']:.3f} / {parts[name]['p95_ms']:.3f} ms", "", "")
             for name in ANSWER_PARTS if name in parts]
    ratio = latency.get("total_over_encode")
    rows.append(("total / encode (p50)", f"{ratio:.2f}" if ratio else "-", f"≤ {TARGETS['total_over_encode']:g}",
                 _mark(ratio, TARGETS["total_over_encode"])))
    threads = latency.get("threads") or {}
    for key in sorted(k for k in threads if k.startswith(("idle", "busy"))):
        entry = threads[key]
        rows.append((f"  encode, {key.replace('_', ', ')}",
                     f"{entry['encode']['p50_ms']:.2f} / {entry['encode']['p95_ms']:.2f} ms; "
                     f"batch {entry['batch_texts_per_s']:.0f} texts/s", "", ""))
    return rows


def _startup_rows(startup: dict[str, Any]) -> list[Row]:
    serving = startup["serving"]
    phases = serving["phases_s"]
    return [
        ("cold `ask` wall time (median of 3)", f"{startup['wall_s']['median']:.2f} s", "", ""),
        ("cold `ask` peak memory", f"{startup['maxrss_mb']:.0f} MB", "", ""),
        ("serving RSS after start-up", f"{serving['rss_mb']['engine_loaded']:.0f} MB", "", ""),
        ("  start-up: imports / model / index", f"{phases['python_and_imports']:.2f} / {phases['model']:.2f} / "
                                                f"{phases['index_and_searcher']:.2f} s", "", ""),
    ]


def _build_rows(build: dict[str, Any]) -> list[Row]:
    incremental = build["incremental"]
    return [
        ("full build, real content (model load apart)",
         f"{build['full']['seconds']:.2f} s (+ once per process: model {build['model_load_s']:.1f} s, "
         f"jieba dictionary {build['jieba_dictionary_load_s']:.2f} s)", "", ""),
        ("incremental rebuild, one sample edited",
         f"{incremental['seconds']:.2f} s = {_share(build['incremental_share'])}; embedded "
         f"{incremental['embedded']}, reused {incremental['reused']}", f"≤ {_share(TARGETS['incremental_share'])}",
         _mark(build["incremental_share"], TARGETS["incremental_share"])),
    ]


def _scale_rows(row: dict[str, Any]) -> list[Row]:
    """One corpus size; its figures are marked only at the size the targets are stated for."""
    answers, recall = row["serving"]["answers"]["total"], row["serving"].get("recall", {})
    rss, incremental = row["serving"]["rss_mb"]["engine_loaded"], row["incremental"]
    big = row["passages"] >= TARGET_SIZE

    def target(text: str, value: float, key: str) -> tuple[str, str]:
        return (text, _mark(value, TARGETS[key])) if big else ("", "")

    size = f"scale {row['passages']:,}"
    rows: list[Row] = [
        (f"{size}: build", f"{row['build']['seconds']:.1f} s" + (" (an earlier run's)" if row.get("reused") else ""),
         *target(f"≤ {TARGETS['scale_build_s'] / 60:g} min", row["build"]["seconds"], "scale_build_s")),
        (f"{size}: query p50 / p95", f"{answers['p50_ms']:.2f} / {answers['p95_ms']:.2f} ms",
         *target(f"p95 ≤ {TARGETS['scale_p95_ms']:g} ms", answers["p95_ms"], "scale_p95_ms")),
        (f"{size}: serving RSS / index on disk", f"{rss:.0f} MB / {row['index_mb']:.0f} MB",
         *target(f"≤ {TARGETS['scale_rss_mb'] / 1024:g} GB", rss, "scale_rss_mb")),
    ]
    if recall.get("index", "").startswith("IndexHNSW"):
        rows.append((f"{size}: HNSW recall@10", f"{recall['recall@10']:.4f}", f"≥ {TARGETS['hnsw_recall']:g}",
                     _mark(recall["recall@10"], TARGETS["hnsw_recall"], higher_is_better=True)))
    rows.append((f"{size}: incremental rebuild", f"{incremental['seconds']:.1f} s = {_share(incremental['share'])}",
                 f"≤ {_share(TARGETS['incremental_share'])}",
                 _mark(incremental["share"], TARGETS["incremental_share"])))
    return rows


def _bot_rows(bot: dict[str, Any]) -> list[Row]:
    capacity, steady = bot["capacity"], bot["steady"]
    offered = f"bot at {steady['offered_per_s']:.0f} questions/s"
    return [
        (f"bot capacity: {bot['users']} users asking in turn", f"{capacity['replies_per_s']:.0f} replies/s",
         f"≥ {TARGETS['bot_replies_per_s']:g}/s",
         _mark(capacity["replies_per_s"], TARGETS["bot_replies_per_s"], higher_is_better=True)),
        (f"{offered}: replies/s", f"{steady['replies_per_s']:.1f} ({steady['unanswered']} unanswered)", "", ""),
        (f"{offered}: update → reply p50 / p95", f"{steady['latency']['p50_ms']:.0f} / "
                                                 f"{steady['latency']['p95_ms']:.0f} ms",
         f"p95 ≤ {TARGETS['bot_p95_ms']:g} ms", _mark(steady["latency"]["p95_ms"], TARGETS["bot_p95_ms"])),
        ("  CPU per reply (whole process)", f"{capacity['cpu_ms_per_reply']:.1f} ms", "", ""),
    ]


def summary_rows(results: dict[str, Any]) -> list[Row]:
    """The headline figures of the parts that ran, in the order the parts are listed."""
    rows: list[Row] = []
    if results.get("latency"):
        rows += _latency_rows(results["latency"])
    if results.get("startup"):
        rows += _startup_rows(results["startup"])
    if results.get("build"):
        rows += _build_rows(results["build"])
    for row in (results.get("scale") or {}).get("sizes", []):
        rows += _scale_rows(row)
    if results.get("bot"):
        rows += _bot_rows(results["bot"])
    if results.get("import"):
        rows += _import_rows(results["import"])
    if results.get("sheets"):
        rows += _sheet_rows(results["sheets"])
    return rows


def _sheet_rows(sheets: dict[str, Any]) -> list[Row]:
    """`ask --in/--out` of each staff spreadsheet, in its own process; memory against the rows."""
    rows: list[Row] = [(f"ask --in: {s['rows']:,}-row .xlsx", f"{s['rows_per_s']:.1f} rows/s ({s['seconds']:.0f} s), "
                        f"peak {s['peak_rss_mb']:.0f} MB; sheet I/O alone {s['io_only_rows_per_s']:,} rows/s", "", "")
                       for s in sheets["sizes"]]
    if len(sheets["sizes"]) > 1:
        rows.append(("ask --in: peak memory, largest minus smallest sheet", f"{sheets['rss_growth_mb']:+.0f} MB", "",
                     ""))
        rows.append(("ask --in: rows/s once started (start-up left out)", f"{sheets['steady_rows_per_s']:.1f}", "",
                     ""))
    return rows


def _import_rows(imported: dict[str, Any]) -> list[Row]:
    """`import --dry-run` of each large file, in its own process."""
    names = {"pdf_100_pages": f"import: {imported.get('pdf_pages', 100)}-page PDF",
             "docx_100000_paragraphs": "import: 100,000-paragraph .docx", "html_4_5_mb": "import: 4.5 MB web page",
             "html_50_mb_refused": "import: 50 MB web page (refused)",
             "start_up_only": "import: start-up alone (a missing file)"}
    return [(label, f"{imported[key]['seconds']:.1f} s, peak {imported[key]['peak_rss_mb']:.0f} MB"
             + ("" if imported[key]["exit_code"] == 0 else f" (exit {imported[key]['exit_code']})"), "", "")
            for key, label in names.items() if key in imported]


def format_table(results: dict[str, Any]) -> str:
    rows = summary_rows(results)
    if not rows:
        return "(no results)"
    header = ("figure", "value", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths[:3])]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    scale = results.get("scale", {}).get("sizes", [])
    if scale:
        lines += ["", scale_table(scale, markdown=False)]
    return "\n".join(lines)


SCALE_COLUMNS = ("passages", "build s", "embedded", "index MB", "serving RSS MB", "query p50 ms", "query p95 ms",
                 "vector index", "recall@10", "incremental s")


def scale_cells(row: dict[str, Any]) -> list[str]:
    serving = row["serving"]
    recall = serving.get("recall", {})
    return [f"{row['passages']:,}", f"{row['build']['seconds']:.1f}", f"{row['build']['embedded']:,}",
            f"{row['index_mb']:.0f}", f"{serving['rss_mb']['engine_loaded']:.0f}",
            f"{serving['answers']['total']['p50_ms']:.2f}", f"{serving['answers']['total']['p95_ms']:.2f}",
            serving.get("vector_index", "").replace("Index", ""),
            f"{recall['recall@10']:.4f}" if "recall@10" in recall else "-",
            f"{row['incremental']['seconds']:.1f} ({row['incremental']['share']:.0%})"]


def scale_table(rows: list[dict[str, Any]], markdown: bool = True) -> str:
    cells = [scale_cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(SCALE_COLUMNS) + " |", "|" + "---|" * len(SCALE_COLUMNS)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(x) for x in column) for column in zip(SCALE_COLUMNS, *cells)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(SCALE_COLUMNS, widths))]
    return "\n".join(lines + ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells])


def detail_sections(results: dict[str, Any]) -> list[str]:
    """Markdown tables behind the headline numbers: thread counts, build phases, where the bot's CPU goes."""
    lines: list[str] = []
    threads = (results.get("latency") or {}).get("threads") or {}
    keys = sorted(k for k in threads if k.startswith(("idle", "busy")))
    if keys:
        lines += ["", "Encoder threads (one question: `query_threads`; a batch of "
                  f"{threads.get('batch_texts')} texts: `embedding_threads`):", "",
                  "| machine | threads | encode one question p50 / p95 / mean / max ms | answer p50 / p95 ms "
                  "| batch texts/s |", "|---|---|---|---|---|"]
        for key in keys:
            load, count = key.split("_threads")
            entry = threads[key]
            lines.append(f"| {load}{' (other cores spinning)' if load == 'busy' else ''} | {count} | "
                         f"{entry['encode']['p50_ms']:.2f} / {entry['encode']['p95_ms']:.2f} / "
                         f"{entry['encode']['mean_ms']:.2f} / {entry['encode']['max_ms']:.1f} | "
                         f"{entry['answer']['p50_ms']:.2f} / {entry['answer']['p95_ms']:.2f} | "
                         f"{entry['batch_texts_per_s']:.0f} |")
    builds: list[tuple[str, dict[str, float]]] = []
    if results.get("build"):
        builds += [("real content, full", results["build"]["full"]["phases_s"]),
                   ("real content, incremental", results["build"]["incremental"]["phases_s"])]
    for row in (results.get("scale") or {}).get("sizes", []):
        builds += [(f"{row['passages']:,}, full", row["build"]["phases_s"]),
                   (f"{row['passages']:,}, incremental", row["incremental"]["phases_s"])]
    if builds:
        phases = list(dict.fromkeys(name for _, p in builds for name in p))
        lines += ["", "Build phases (seconds; model load excluded):", "",
                  "| build | " + " | ".join(phases) + " |", "|---|" + "---|" * len(phases)]
        lines += [f"| {label} | " + " | ".join(f"{p.get(name, 0):.2f}" for name in phases) + " |"
                  for label, p in builds]
    bot = results.get("bot") or {}
    if "capacity" in bot:
        lines += ["", "Where the bot process's CPU time goes (seconds, by thread):", "",
                  "| load | " + " | ".join(bot["capacity"]["cpu_s_by_thread"]) + " |",
                  "|---|" + "---|" * len(bot["capacity"]["cpu_s_by_thread"])]
        for name in ("capacity", "steady"):
            groups = bot[name]["cpu_s_by_thread"]
            lines.append(f"| {name} ({bot[name]['replies']} replies) | "
                         + " | ".join(f"{groups.get(g, 0):.2f}" for g in bot["capacity"]["cpu_s_by_thread"]) + " |")
    return lines


def markdown_summary(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    parts = meta.get("parts", [])
    sizes = f" --sizes {','.join(str(s) for s in meta['sizes'])}" if meta.get("sizes") else ""
    after = "; ".join(f"{part} {results[part]['load_average_after'][0]}" for part in parts
                      if results.get(part, {}).get("load_average_after"))
    lines = ["# Benchmark results", "",
             f"Written by `python -m devtools bench --parts {','.join(parts)}{sizes}` (with `--markdown` and "
             "`--plot`); what each figure measures: docs/performance.md. Every figure is in the JSON file the run "
             "wrote (`--output`).", "",
             f"Measured {meta.get('date', '')} at commit `{meta.get('commit', '')}` on {meta.get('cpu', '')}, "
             f"{meta.get('cores', '')} cores, {meta.get('memory_gb', '')} GB. Load average (1 min) before the run: "
             f"{', '.join(str(x) for x in meta.get('load_average', []))}; after each part: {after or '-'}.", "",
             "| figure | value | target | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(results)]
    scale = results.get("scale", {}).get("sizes", [])
    if scale:
        lines += ["", scale_table(scale)]
    lines += detail_sections(results)
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> Path | None:
    rows = results.get("scale", {}).get("sizes", [])
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["passages"] for r in rows]
    p50 = [r["serving"]["answers"]["total"]["p50_ms"] for r in rows]
    p95 = [r["serving"]["answers"]["total"]["p95_ms"] for r in rows]
    rss = [r["serving"]["rss_mb"]["engine_loaded"] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(sizes, p50, "o-", label="p50")
    left.plot(sizes, p95, "s-", label="p95")
    left.axhline(TARGETS["scale_p95_ms"], color="grey", linestyle=":", label="p95 target")
    left.set(xscale="log", xlabel="passages", ylabel="answer time (ms, warm)", title="Query latency")
    left.legend()
    right.plot(sizes, rss, "o-", color="tab:green", label="serving RSS")
    right.axhline(TARGETS["scale_rss_mb"], color="grey", linestyle=":", label="target")
    right.set(xscale="log", xlabel="passages", ylabel="MB", title="Serving memory")
    right.legend()
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    meta = results.get("meta", {})
    figure.suptitle(f"python -m devtools bench (scale) — {meta.get('cores', '?')} cores, {meta.get('date', '')[:10]}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
