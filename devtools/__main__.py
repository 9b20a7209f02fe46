"""`python -m devtools …`: bench, soak and the bench's serving probe, with the product's settings flags."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, TextIO

from bot.cli import EXIT_ERROR, EXIT_OK, add_settings_flags, run_guarded
from bot.config import Settings
from bot.engine import Engine

from .bench_measure import PARTS, BenchOptions, parse_parts, parse_sizes


def cmd_bench(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .bench import run_bench

    return run_bench(bench_options(args), settings, out)


def bench_options(args: argparse.Namespace) -> BenchOptions:
    """The parsed `bench` flags (and the settings flags, for the bench's subprocesses) as one typed object."""
    return BenchOptions(
        parts=args.parts, sizes=args.sizes, output=Path(args.output), plot=Path(args.plot),
        markdown=Path(args.markdown), questions=Path(args.questions) if args.questions else None,
        rounds=args.rounds, skip_threads=args.skip_threads, bot_users=args.bot_users,
        bot_questions=args.bot_questions, bot_rate=args.bot_rate, bot_seconds=args.bot_seconds, keep=args.keep,
        settings=args.settings, overrides=tuple(args.set or ()))


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


def _flag(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser raising ValueError: the value's own message as the usage error."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """A count or rate above zero (a zero one would measure nothing and divide by it)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"must be a {'whole ' if kind is int else ''}number, not {text!r}") from None
        if not value > 0:
            raise ValueError(f"must be more than 0, not {text}")
        return value

    return _flag(parse)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m devtools", description="Benchmarks and soak runs of the bot.")
    add_settings_flags(top)
    sub = top.add_subparsers(dest="command", required=True)

    default = BenchOptions()
    p = sub.add_parser("bench", help="measure latency, start-up, build, scale and bot throughput; print a table",
                       description="See docs/performance.md for what each part measures.")
    p.add_argument("--parts", type=_flag(parse_parts), default=default.parts,
                   help=f"comma-separated parts to run (default: all of {','.join(PARTS)})")
    p.add_argument("--sizes", type=_flag(parse_sizes), default=default.sizes,
                   help="passage counts of the synthetic corpora for the scale part (default: "
                        f"{','.join(str(s) for s in default.sizes)})")
    p.add_argument("--output", default=str(default.output), help="where to write every figure as JSON "
                   "(after each part) (default: %(default)s)")
    p.add_argument("--plot", default=str(default.plot),
                   help="where the scale part draws latency and memory against corpus size (default: %(default)s)")
    p.add_argument("--markdown", default=str(default.markdown),
                   help="where to write the table as Markdown (default: %(default)s)")
    p.add_argument("--questions", help="question set to time, YAML like tests/fixtures/dev.yaml (default: that file)")
    p.add_argument("--rounds", type=_positive(int), default=default.rounds,
                   help="times each question is answered in the latency part (default: %(default)s)")
    p.add_argument("--skip-threads", action="store_true",
                   help="leave out the latency part's study of 1 vs all encoder threads, idle and busy")
    p.add_argument("--bot-users", type=_positive(int), default=default.bot_users,
                   help="simulated users in the bot part (default: %(default)s)")
    p.add_argument("--bot-questions", type=_positive(int), default=default.bot_questions,
                   help="questions each user asks in the bot part's capacity run (default: %(default)s)")
    p.add_argument("--bot-rate", type=_positive(float), default=default.bot_rate,
                   help="questions per second in the bot part's steady run (default: %(default)s)")
    p.add_argument("--bot-seconds", type=_positive(float), default=default.bot_seconds,
                   help="length of the bot part's steady run in seconds (default: %(default)s)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work folder (synthetic corpora, indexes) and print where it is")
    p.set_defaults(run=cmd_bench)

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
        from .bench_probe import probe_main

        return probe_main(argv[1:])
    args = parser().parse_args(argv)
    return run_guarded(args, out or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
