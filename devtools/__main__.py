"""`python -m devtools …`: bench, soak and the bench's serving probe, with the product's settings flags."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from bot.cli import EXIT_ERROR, EXIT_OK, add_settings_flags, run_guarded
from bot.config import Settings
from bot.engine import Engine

from .bench.measure import PARTS, BenchOptions, parse_parts, parse_sizes


def cmd_bench(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .bench.run import run_bench

    return run_bench(bench_options(args), settings, out)


def bench_options(args: argparse.Namespace) -> BenchOptions:
    """The parsed `bench` flags (and the settings flags, for the bench's subprocesses) as one typed object."""
    return BenchOptions(
        parts=args.parts, sizes=args.sizes, output=Path(args.output), plot=Path(args.plot),
        markdown=Path(args.markdown), questions=Path(args.questions) if args.questions else None,
        rounds=args.rounds, skip_threads=args.skip_threads, bot_users=args.bot_users,
        bot_questions=args.bot_questions, bot_rate=args.bot_rate, bot_seconds=args.bot_seconds, keep=args.keep,
        reuse=Path(args.reuse) if args.reuse else None, settings=args.settings, overrides=tuple(args.set or ()))


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


def _backends(text: str) -> str:
    from .bench.store import BACKENDS

    chosen = [b.strip() for b in text.split(",") if b.strip()]
    if not chosen or any(b not in BACKENDS for b in chosen):
        raise ValueError(f"must be a comma-separated list of {', '.join(BACKENDS)}, not {text!r}")
    return ",".join(chosen)


def cmd_fit_ranking(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Fit bot/ranking.json on the given sets; print how each set's fitted and checked halves do."""
    from .fit.ranking import collect, fit, format_fit_report

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


def cmd_bench_store(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """The store's fault figures with many chats stored (start-up, memory, per-chat write), per backend."""
    from .bench.store import run_store_bench

    results = run_store_bench(tuple(args.backends.split(",")), args.chats, args.writes, args.database_url or "",
                              out, lambda message: print(message, file=sys.stderr, flush=True))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return EXIT_OK


def _answer_cases(args: argparse.Namespace, settings: Settings) -> list[Any]:
    """The sets of fit-answer and answer-quality, asked through the search (bot.answer's input)."""
    from .fit.answer import collect

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    article = {name: Path(path) for name, path in (("dev", args.dev), ("heldout", args.heldout)) if path}
    return collect(settings, [Path(p) for p in args.squad], article, Path(args.work_dir) if args.work_dir else None,
                   log)


def cmd_fit_answer(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Fit bot/answer.json on the given sets; print how each set's fitted and checked halves do."""
    from .fit.answer import ARTICLE_WEIGHT, fit, format_fit_report

    model, report = fit(_answer_cases(args, settings), args.max_not_given, l2=args.l2)
    model.about.update({
        "fitted_on": "even half (by context hash) of each SQuAD set and of its near-miss version (answers' "
                     "sentences cut out), dev",
        "checked_on": "odd half of each SQuAD set and near-miss version, heldout",
        "sets": [Path(p).name for p in [*args.squad, args.dev, args.heldout] if p],
        "chunk_max_chars": settings.chunk_max_chars, "max_not_given": args.max_not_given, "l2": args.l2,
        "article_weight": ARTICLE_WEIGHT, "report": report,
    })
    model.save(Path(args.output))
    print(format_fit_report(report), file=out)
    print(f"wrote {args.output}", file=out)
    return EXIT_OK


def cmd_answer_quality(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """The shipped answer models on every set, fitted and checked halves apart: one table."""
    from bot.answer.model import load_answer_model

    from .fit.answer import format_fit_report, report

    print(format_fit_report(report(_answer_cases(args, settings), load_answer_model())), file=out)
    return EXIT_OK


def cmd_bench_faults(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Issue 19's fault figures on real serve processes: start-up and memory with many chats stored, /help
    under load, two replicas with one killed."""
    from .bench.faults import run_fault_bench

    results = run_fault_bench(settings, args.chats, args.help_chats, args.ask_chats, not args.no_replicas, out,
                              lambda message: print(message, file=sys.stderr, flush=True))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=1), encoding="utf-8")
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


def cmd_fit_pins(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Fit bot/pins.json (when a question is one a pin answers); print the fit and the check by group."""
    from .fit.pins import collect, fit, format_report

    grouped, others, outside, passages = collect(settings, Path(args.groups), [Path(args.dev), Path(args.heldout)],
                                                 Path(args.offtopic), [Path(p) for p in args.external])
    model, report = fit(grouped, others, outside, passages, args.c)
    model = replace(model, about={
        "fitted_on": f"{args.groups}: each phrasing pinned, the others of its group positives; negatives: "
                     f"{args.offtopic}, {args.dev}, {args.heldout} and group questions about other sections",
        "threshold": "the least log-odds no fitted negative reaches",
        "checked_on": "each group left out of its fit in turn" + (f"; {', '.join(args.external)} (questions "
                                                                   "not in the fixture)" if outside else ""),
        "c": args.c, "report": report})
    model.save(Path(args.output))
    print(format_report(report), file=out)
    print(f"wrote {args.output}", file=out)
    return EXIT_OK


def cmd_pin_targets(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Issue 16's pin target with the whole bot: one phrasing of each group pinned, the two others asked."""
    from bot.embedding import load_embedder
    from bot.index import build_index
    from bot.normalize import fold

    from .fit.pins import pinned_copy

    work = Path(args.work_dir)
    local = settings.replace(knowledge_dir=str(work / "knowledge"), index_dir=str(work / "index"))
    groups = pinned_copy(settings.path("knowledge_dir"), Path(args.groups), work / "knowledge",
                         settings.chunk_max_chars)
    build_index(local, load_embedder)
    engine = Engine(local)
    asked = hits = leads = 0
    for group in groups:
        for question in group["questions"][1:]:
            answer = engine.answer(question)
            pinned = bool(answer.shown) and answer.shown[0].section == group["section"] and answer.answered
            asked, hits = asked + 1, hits + pinned
            leads += pinned and fold(group["sentence"]) in fold(answer.lead)
            if not pinned:
                print(f"  not from the pin: {group['id']} {question} → "
                      f"{answer.shown[0].id if answer.shown else 'declined'}", file=out)
    print(f"answered from the pinned passage: {hits}/{asked} = {hits / asked:.3f}; quoting the pinned sentence: "
          f"{leads}/{asked} = {leads / asked:.3f}", file=out)
    print(f"pinned copy: --set knowledge_dir={work / 'knowledge'} --set index_dir={work / 'index'}", file=out)
    return EXIT_OK


def _answer_sets(p: argparse.ArgumentParser) -> None:
    """The sets fit-answer fits on and checks on, and answer-quality measures."""
    p.add_argument("--squad", nargs="*", default=[], help="SQuAD-style JSON files (CMRC 2018, DRCD)")
    p.add_argument("--dev", default="tests/fixtures/dev.yaml", help="the article's set fitted on")
    p.add_argument("--heldout", default="tests/fixtures/heldout.yaml", help="the article's set only checked")
    p.add_argument("--work-dir", help="folder for the SQuAD sets' temporary indexes (default: system temp)")


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
    p.add_argument("--reuse", metavar="DIR",
                   help="keep the scale part's corpora and indexes in DIR, and serve the ones an earlier run left "
                        "there (rebuilt only when the index format changed): a second run only probes")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("bench-store", help="the store with many chats stored: start-up time and memory, one "
                                           "chat's memory write and read (p50/p95), per backend")
    p.add_argument("--chats", type=_positive(int), default=100_000, help="chats stored (default %(default)s)")
    p.add_argument("--writes", type=_positive(int), default=1000, help="timed writes and reads (default %(default)s)")
    p.add_argument("--backends", type=_flag(_backends), default="sqlite,postgres",
                   help="comma-separated, of sqlite and postgres (default %(default)s)")
    p.add_argument("--database-url", help="an empty PostgreSQL database the bench may fill and empty (default: "
                                          "a temporary server; $DATABASE_URL is not read, so a real store is never "
                                          "touched)")
    p.add_argument("--output", help="also write the figures as JSON to this file")
    p.set_defaults(run=cmd_bench_store)

    p = sub.add_parser("bench-faults", help="real serve processes: start-up time and peak memory with many chats "
                                            "stored, /help latency under load, two replicas with one killed")
    p.add_argument("--chats", type=_positive(int), default=100_000, help="chats stored (default %(default)s)")
    p.add_argument("--help-chats", type=_positive(int), default=200,
                   help="chats sending /help at the same moment (default %(default)s)")
    p.add_argument("--ask-chats", type=_positive(int), default=50,
                   help="chats asking a question during the second /help burst (default %(default)s)")
    p.add_argument("--no-replicas", action="store_true", help="leave out the two-replica run (needs PostgreSQL)")
    p.add_argument("--output", help="also write the figures as JSON to this file")
    p.set_defaults(run=cmd_bench_faults)

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

    p = sub.add_parser("fit-pins", help="fit the pin matcher: when a question is one a pin answers (bot/pins.json)")
    p.add_argument("--groups", default="tests/fixtures/pins_paraphrases.yaml", help="paraphrase groups")
    p.add_argument("--dev", default="tests/fixtures/dev.yaml", help="the article's questions (negatives)")
    p.add_argument("--heldout", default="tests/fixtures/heldout.yaml", help="more of them (negatives)")
    p.add_argument("--offtopic", default="tests/fixtures/pins_offtopic.yaml", help="off-topic questions (negatives)")
    p.add_argument("--external", nargs="*", default=[],
                   help="SQuAD-style files whose other questions are checked as off-topic (not fitted on)")
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 penalty of the logistic regression")
    p.add_argument("--output", default="bot/pins.json", help="where to write the model")
    p.set_defaults(run=cmd_fit_pins)

    p = sub.add_parser("pin-targets", help="pin one phrasing of each paraphrase group in a copy of knowledge/, ask "
                                           "the others: the share answered from the pinned passage")
    p.add_argument("--groups", default="tests/fixtures/pins_paraphrases.yaml", help="paraphrase groups")
    p.add_argument("--work-dir", required=True, help="folder for the pinned knowledge copy and its index")
    p.set_defaults(run=cmd_pin_targets)

    p = sub.add_parser("fit-answer", help="fit the answer models: quoted sentence, bold figure, not given "
                                          "(bot/answer.json)")
    _answer_sets(p)
    p.add_argument("--max-not-given", type=float, default=0.01,
                   help="share of the fitted answerable questions asking a figure that the not-given threshold may "
                        "tell the figure is not given (default %(default)s)")
    p.add_argument("--l2", type=float, default=0.01,
                   help="L2 penalty of the sentence and figure choice models (higher: smoother weights)")
    p.add_argument("--output", default="bot/answer.json", help="where to write the model")
    p.set_defaults(run=cmd_fit_answer)

    p = sub.add_parser("answer-quality", help="what a person reads first (lead@1, figure@1, answered, near-miss "
                                              "handled) of the shipped answer models, per set and half")
    _answer_sets(p)
    p.set_defaults(run=cmd_answer_quality)

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
        from .bench.probe import probe_main

        return probe_main(argv[1:])
    args = parser().parse_args(argv)
    return run_guarded(args, out or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
