"""`python -m devtools bench`: the numbers users feel, measured and printed (not timed tests).

Parts (``--parts``, comma-separated; what each measures is in docs/performance.md):

* ``latency`` — warm answers in-process over the dev questions: ``Engine.answer`` and its parts, and the
  encoder's thread counts (devtools.bench.measure).
* ``startup`` — cold ``python -m bot ask`` and the serving process's start-up (devtools.bench.probe).
* ``build`` — full and incremental builds of knowledge/, with the phases the build reports.
* ``scale`` — synthetic knowledge bases of ``--sizes`` passages: build, index size, serving memory and
  latency, HNSW recall, incremental rebuild.
* ``bot`` — simulated users through the fake Bot API server against the real Application (devtools.bench.bot_load).
* ``import`` — `import --dry-run` of a 100-page PDF, a 100,000-paragraph .docx and large web pages: time and
  peak memory of each process (devtools.bench.importing).
* ``sheets`` — `ask --in/--out` on staff spreadsheets of 1,000 and 10,000 rows: rows per second and peak memory
  of each process, which must not grow with the rows (devtools.bench.sheets).

This module runs the parts in order, saves the results after each, and hands them to devtools.bench.report.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings

from .measure import (
    Bench,
    BenchOptions,
    load_average,
    machine_info,
    part_build,
    part_latency,
    part_scale,
    part_startup,
)
from .report import format_table, markdown_summary, plot


def run_bench(options: BenchOptions, settings: Settings, out: TextIO) -> int:
    """Run the chosen parts; print the table; write the JSON, the Markdown and (with scale) the plot."""
    from .bot_load import part_bot  # imports python-telegram-bot: only when asked for
    from .importing import part_import
    from .sheets import part_sheets

    work = Path(tempfile.mkdtemp(prefix="bot-bench-"))

    def log(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    bench = Bench(settings, options, work, log)
    scale = "scale" in options.parts and options.sizes
    bench.results = {"meta": {**machine_info(), "parts": list(options.parts),
                              "sizes": list(options.sizes) if scale else []}}
    runners: dict[str, Callable[[Bench], dict[str, Any]]] = {
        "latency": part_latency, "startup": part_startup, "build": part_build, "scale": part_scale, "bot": part_bot,
        "import": part_import, "sheets": part_sheets}
    try:
        for part in options.parts:
            log(f"{part} …")
            started = time.perf_counter()
            bench.results[part] = {**runners[part](bench), "part_seconds": round(time.perf_counter() - started, 1),
                                   "load_average_after": load_average()}
            bench.save()
    finally:
        if options.keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(bench.results), file=out)
    print(f"\nresults: {options.output}", file=out)
    if scale:
        plot(bench.results, options.plot)
        print(f"plot: {options.plot}", file=out)
    options.markdown.parent.mkdir(parents=True, exist_ok=True)
    options.markdown.write_text(markdown_summary(bench.results), encoding="utf-8")
    print(f"markdown: {options.markdown}", file=out)
    return 0
