"""The bench's ``sheets`` part: `python -m bot ask --in FILE.xlsx --out FILE.xlsx` on staff spreadsheets of
1,000 and 10,000 rows, each in a fresh process (wall time, rows per second, the process's peak RSS), and the
spreadsheet reading and writing alone, in this process (rows per second, no answering). The peak RSS of the
two sizes set side by side says whether memory grows with the rows: it must not (the rows are streamed); their
times set side by side give the rate once started (the model's loading cancels out)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .measure import Bench, child_env, run_measured

SHEET_ROWS = (1_000, 10_000)
BLANK_EVERY = 50  # a blank row now and then, as staff sheets have them
HEADER = ["编号", "来信时间", "来信人", "联系电话", "来信内容", "备注"]


def staff_sheet(path: Path, rows: int, questions: list[str]) -> Path:
    """An .xlsx of ``rows`` citizens' letters: the dev questions in turn, every other cell different per row."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("来信")
    sheet.append(HEADER)
    for number in range(1, rows + 1):
        question = "" if number % BLANK_EVERY == 0 else questions[number % len(questions)]
        sheet.append([f"XF-{number:06d}", f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}", f"来信人{number}",
                      f"1380000{number:04d}", question, f"第{number}件，转办单位待定"])
    workbook.save(path)
    return path


def _io_only(source: Path, target: Path) -> float:
    """Rows per second of reading ``source`` and writing ``target`` through bot.sheets, nothing answered."""
    from bot.sheets import open_sheet, sheet_writer

    started = time.perf_counter()
    reader = open_sheet(source)
    with sheet_writer(target, reader.sheet) as writer:
        for row in reader:
            writer.write(row + ["答复句", "数字", "原文段落" * 20, "文章", "章节", "", "", "出处", "已答复"])
    return reader.rows / (time.perf_counter() - started)


def part_sheets(bench: Bench) -> dict[str, Any]:
    work = bench.work / "sheets"
    work.mkdir(parents=True, exist_ok=True)
    index_dir = bench.real_index()
    questions = bench.dev_questions()
    results: dict[str, Any] = {"sizes": []}
    for rows in SHEET_ROWS:
        source = staff_sheet(work / f"letters-{rows}.xlsx", rows, questions)
        target = work / f"answers-{rows}.xlsx"
        bench.log(f"ask --in {source.name} ({rows} rows) …")
        run = run_measured([sys.executable, "-m", "bot", *bench.settings_flags({"index_dir": str(index_dir)}),
                            "ask", "--in", str(source), "--out", str(target)], env=child_env(),
                           cwd=bench.settings.root)
        if run["returncode"] != 0:
            raise RuntimeError(f"ask --in failed ({run['returncode']}): {run['stderr'][-2000:]}")
        results["sizes"].append({
            "rows": rows, "seconds": round(run["seconds"], 1), "rows_per_s": round(rows / run["seconds"], 1),
            "peak_rss_mb": run["maxrss_mb"], "input_mb": round(source.stat().st_size / 2**20, 2),
            "output_mb": round(target.stat().st_size / 2**20, 2), "said": run["stdout"].strip()[:300],
            "io_only_rows_per_s": round(_io_only(source, work / f"io-{rows}.xlsx")),
        })
    first, last = results["sizes"][0], results["sizes"][-1]
    results["rss_growth_mb"] = round(last["peak_rss_mb"] - first["peak_rss_mb"], 1)
    # the rate once started: the rows the larger sheet has more over the time it took more (start-up cancels)
    extra_seconds = last["seconds"] - first["seconds"]
    extra_rows = last["rows"] - first["rows"]
    results["steady_rows_per_s"] = round(extra_rows / extra_seconds, 1) if extra_seconds > 0 else 0.0
    return results
