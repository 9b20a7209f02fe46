"""`python -m devtools …`: bench, soak and the bench's serving probe, with the product's settings flags."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from bot.cli import EXIT_ERROR, EXIT_OK, run_guarded, add_settings_flags
from bot.config import Settings
from bot.engine import Engine


def cmd_bench(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .bench import run_bench

    return run_bench(args, settings, out)


def cmd_soak(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Many questions through the fake Bot API server against the real bot: latency and memory drift."""
    from .soak import format_soak, run_soak

    result = run_soak(settings, Engine(settings), questions=args.questions, users=args.users,
                      progress=lambda message: print(message, file=sys.stderr, flush=True))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(format_soak(result), file=out)
    return EXIT_OK if result["lost"] == 0 and result["duplicates"] == 0 else EXIT_ERROR


def cmd_fit_ranking(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Fit bot/ranking.json on the given sets; print how each set's fitted and checked halves do."""
    from .fit_ranking import collect, fit, format_fit_report

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    article = {name: Path(path) for name, path in (("dev", args.dev), ("heldout", args.heldout)) if path}
    asked = collect(settings, [Path(p) for p in args.squad], article, args.negatives,
                    Path(args.work_dir) if args.work_dir else None, log)
    model, report = fit(asked, args.max_false_answer)
    model.about.update({
        "fitted_on": "even half (by context hash) of each SQuAD set, dev; negatives: each set's questions against "
                     "the other sets' contexts and knowledge/, off-topic questions of dev (threshold: knowledge/ "
                     "and dev negatives only)",
        "checked_on": "odd half of each SQuAD set, heldout",
        "sets": [Path(p).name for p in args.squad] + [Path(p).name for p in article.values()],
        "chunk_max_chars": settings.chunk_max_chars, "max_false_answer": args.max_false_answer,
        "report": report,
    })
    model.save(Path(args.output))
    print(format_fit_report(report), file=out)
    print(f"wrote {args.output}", file=out)
    return EXIT_OK


def cmd_quality_table(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """The quality table (Markdown) from eval reports; with --into, written between a file's markers."""
    from .quality_table import load_reports, quality_table, write_into

    reports = load_reports([Path(p) for p in args.reports])
    if args.name:
        reports = [(name, report) for name, (_, report) in zip(args.name, reports)] + reports[len(args.name):]
    table = quality_table(reports)
    if args.into:
        write_into(Path(args.into), table)
    print(table, file=out)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m devtools", description="Benchmarks and soak runs of the bot.")
    add_settings_flags(top)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bench", help="measure latency, start-up, build, scale and bot throughput; print a table")
    p.add_argument("--parts", default="latency,startup,build,scale,bot",
                   help="comma-separated parts to run (latency, startup, build, scale, bot)")
    p.add_argument("--sizes", default="1000,10000,100000", help="passage counts for the scale part")
    p.add_argument("--output", default="bench/results/latest.json", help="where to write the JSON results")
    p.add_argument("--plot", default="bench/results/latency_vs_size.png",
                   help="where the scale part draws latency and memory against corpus size (PNG)")
    p.add_argument("--markdown", default="bench/results/RESULTS.md", help="where to write the table as Markdown")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("fit-ranking", help="fit the ranking and answerability models (bot/ranking.json)")
    p.add_argument("--squad", nargs="*", default=[], help="SQuAD-style JSON files (CMRC 2018, DRCD)")
    p.add_argument("--dev", default="tests/fixtures/dev.yaml", help="the article's set fitted on")
    p.add_argument("--heldout", default="tests/fixtures/heldout.yaml", help="the article's set only checked")
    p.add_argument("--negatives", type=int, default=500,
                   help="questions of each SQuAD set asked against each other content as negatives")
    p.add_argument("--max-false-answer", type=float, default=0.0,
                   help="share of the fitted questions asked against unrelated content that the answerability "
                        "threshold lets through (default 0: none)")
    p.add_argument("--output", default="bot/ranking.json", help="where to write the model")
    p.add_argument("--work-dir", help="folder for the SQuAD sets' temporary indexes (default: system temp)")
    p.set_defaults(run=cmd_fit_ranking)

    p = sub.add_parser("quality-table", help="the quality table (Markdown) from `python -m bot eval --json-out` "
                                             "reports, bot beside the BM25 baseline")
    p.add_argument("reports", nargs="+", help="eval reports (JSON), one per row")
    p.add_argument("--name", action="append", default=[], help="row name of each report in turn (default: file)")
    p.add_argument("--into", help="also write the table between <!-- quality-table --> markers of this file")
    p.set_defaults(run=cmd_quality_table)

    p = sub.add_parser("soak", help="drive many questions through a fake Telegram against the real bot; "
                                    "latency and memory, first vs last thousand")
    p.add_argument("--questions", type=int, default=10000, help="questions to ask in all (default 10000)")
    p.add_argument("--users", type=int, default=50, help="simulated users asking at once (default 50)")
    p.add_argument("--output", help="also write the results as JSON to this file")
    p.set_defaults(run=cmd_soak)
    return top


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:  # the bench's serving measurements, in a fresh process of their own
        from .bench import probe_main

        return probe_main(argv[1:])
    args = parser().parse_args(argv)
    return run_guarded(args, out or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
