"""`python -m bot …`: the one entry point (build, ask, chat, eval, serve, report, backup, health, settings).

Benchmarks and soak runs are development tooling: `python -m devtools …` (not part of the product package)."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from .config import SETTINGS, ConfigError, Settings, load_settings
from .embedding import EmbeddingError, load_embedder
from .engine import Engine
from .index import IndexLoadError, build_index, read_manifest
from .knowledge import KnowledgeError, load_knowledge

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.settings)
    overrides = {name: value for name, value in (args.set or [])}
    return settings.replace(**overrides) if overrides else settings


def cmd_build(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    if args.check:
        knowledge = load_knowledge(settings.path("knowledge_dir"))
        paragraphs = sum(len(s.paragraphs) for s in knowledge.sections)
        print(f"ok: {len(knowledge.sections)} sections, {paragraphs} paragraphs, "
              f"{len(knowledge.synonyms)} synonym groups in {settings.path('knowledge_dir')}", file=out)
        return EXIT_OK
    progress = args.progress or sys.stderr.isatty()
    report = build_index(settings, load_embedder, progress=progress)
    print(f"built {report.path}\n  files {report.files}, chunks {report.chunks}, embedded {report.embedded}, "
          f"reused {report.reused}, segmented {report.tokenized}, {report.seconds:.1f} s "
          f"(model load {report.model_seconds:.1f} s)", file=out)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = Engine(settings)
    if args.question:
        answer = engine.answer(" ".join(args.question))
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else answer.reply, file=out)
        return EXIT_OK
    for line in sys.stdin:
        answer = engine.answer(line.rstrip("\n"))
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), file=out, flush=True)
        else:
            print(answer.reply + "\n", file=out, flush=True)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = Engine(settings)
    print(f"已载入 {engine.state.source}。直接输入问题，回车发送；输入 exit 或按 Ctrl-D 退出。", file=out)
    while True:
        try:
            question = input("问> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return EXIT_OK
        if question.strip().lower() in {"exit", "quit", "q", "退出"}:
            return EXIT_OK
        if question.strip():
            print(engine.answer(question).reply + "\n", file=out, flush=True)


def cmd_eval(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .evaluate import evaluate, format_report

    path = Path(args.file)
    if path.suffix.lower() == ".json":
        return _eval_squad(args, settings, out)
    engine = Engine(settings)
    report = evaluate(engine, path)
    if args.json:
        print(json.dumps(report, ensure_ascii=False), file=out)
    else:
        print(format_report(report, show_misses=not args.quiet), file=out)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return EXIT_OK


def _eval_squad(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """A SQuAD-style set: over a temporary index of its contexts (bot and BM25 baseline), or with
    --as-offtopic its questions against the configured knowledge."""
    from .evaluate import evaluate_offtopic, evaluate_squad, format_squad_report, squad_settings
    from .squad import SquadError, read_squad

    path = Path(args.file)
    try:
        if args.as_offtopic:
            _, questions = read_squad(path)
            report = evaluate_offtopic(Engine(settings), questions)
            text = f"{path.name} asked against {settings.path('knowledge_dir')}: {report['questions']} questions, " \
                   f"declined {report['declined']:.3f}"
        else:
            cache = Path(args.work_dir) if args.work_dir else None
            local, questions = squad_settings(path, settings, cache, progress=sys.stderr.isatty())
            report = evaluate_squad(Engine(local), questions, baseline=not args.no_baseline)
            text = format_squad_report(path.name, report)
    except SquadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report["file"] = path.name
    print(json.dumps(report, ensure_ascii=False) if args.json else text, file=out)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return EXIT_OK


def cmd_health(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Settings parse, content validates, the index loads whole: what a container HEALTHCHECK needs."""
    _, manifest = read_manifest(settings.path("index_dir"))
    if args.deep:
        Engine(settings)
    print(f"ok: index {manifest['build_id']} ({manifest['chunk_count']} passages, model {manifest['model_id']})",
          file=out)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .telegram_app import serve

    return serve(settings)


def cmd_report(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Unanswered and down-voted questions for the editors, from the feedback database."""
    from .feedback import FeedbackStore, FeedbackStoreError, format_report

    path = settings.path("feedback_db")
    if not path.exists():
        print(f"error: no feedback database at {path} yet (the bot creates it when it gets its first question; "
              "setting feedback_db)", file=sys.stderr)
        return EXIT_ERROR
    store = FeedbackStore(settings)
    try:
        report = store.report(days=args.days, limit=args.limit)
    except (FeedbackStoreError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else format_report(report), file=out)
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """A consistent copy of the feedback database (and its salt file), safe while the bot is writing."""
    from .feedback import FeedbackStoreError, backup_database

    source = settings.path("feedback_db")
    try:
        if args.dest.endswith("/"):  # a folder, maybe not there yet
            Path(args.dest).mkdir(parents=True, exist_ok=True)
        result = backup_database(source, Path(args.dest))
    except (FeedbackStoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    salt = f"; salt file copied to {result['salt']}" if result["salt"] else ""
    print(f"backed up {source} to {result['path']}: {result['questions']} questions, {result['votes']} votes, "
          f"{result['bytes'] / 1024:.0f} KB, integrity ok{salt}", file=out)
    return EXIT_OK


def cmd_settings(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    if args.markdown:  # the README's settings table, generated from the registry
        print("| setting | default | environment | what it does |\n|---|---|---|---|", file=out)
        for setting in SETTINGS.values():
            default = "" if setting.secret else json.dumps(setting.default, ensure_ascii=False)
            print(f"| `{setting.name}` | `{default}` | `{setting.env_name}` | {setting.help} |", file=out)
        return EXIT_OK
    print(f"# from {settings.source}", file=out)
    for name, value in settings.public_items():
        print(f"{name}: {json.dumps(value, ensure_ascii=False)}    # ${SETTINGS[name].env_name}", file=out)
    return EXIT_OK


def _setting_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("use NAME=VALUE")
    return name.strip(), value


def add_settings_flags(top: argparse.ArgumentParser) -> None:
    """--settings and --set, shared with the development tools' entry point."""
    top.add_argument("--settings", help="settings YAML file (default: $BOT_SETTINGS or ./settings.yaml)")
    top.add_argument("--set", action="append", type=_setting_pair, metavar="NAME=VALUE",
                     help="override one setting for this run (repeatable)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bot", description="Chinese question answering over policy texts.")
    add_settings_flags(top)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="validate knowledge/ and build the index (re-embeds only changed passages)")
    p.add_argument("--check", action="store_true", help="only validate the content files")
    p.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("ask", help="answer a question, or one question per line from stdin")
    p.add_argument("question", nargs="*", help="the question (omit to read questions from stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per answer (the batch interface)")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("chat", help="interactive chat in the terminal, with the bot's replies")
    p.set_defaults(run=cmd_chat)

    p = sub.add_parser("eval", help="score a question set (hit@k, MRR, figures, abstention) with misses")
    p.add_argument("file", help="question set YAML (see tests/fixtures/dev.yaml), or a SQuAD-style JSON file "
                                "(CMRC 2018, DRCD): its contexts are indexed on their own and a BM25 baseline "
                                "runs beside the bot")
    p.add_argument("--quiet", action="store_true", help="metrics only, no misses")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--as-offtopic", action="store_true",
                   help="SQuAD file: ask its questions against the configured knowledge; print the share declined")
    p.add_argument("--no-baseline", action="store_true", help="SQuAD file: skip the BM25 baseline")
    p.add_argument("--work-dir", help="SQuAD file: folder for the temporary knowledge and index "
                                      "(default: the system temp folder; kept, so reruns re-embed nothing)")
    p.add_argument("--json-out", help="also write the report as JSON to this file")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("health", help="check settings and index (exit 0 when the bot can serve)")
    p.add_argument("--deep", action="store_true", help="also load the model and the whole index")
    p.set_defaults(run=cmd_health)

    p = sub.add_parser("serve", help="run the Telegram bot (token in $TELEGRAM_BOT_TOKEN; polling or webhook)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("report", help="unanswered and down-voted questions from the feedback database")
    p.add_argument("--days", type=int, default=30, help="only the last N days (0: everything kept; default 30)")
    p.add_argument("--limit", type=int, default=20, help="most questions listed per table (default 20)")
    p.add_argument("--json", action="store_true", help="the report as one JSON object")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("backup", help="copy the feedback database consistently, even while the bot is writing")
    p.add_argument("dest", help="backup file, or an existing folder to put feedback-<UTC time>.sqlite3 in")
    p.set_defaults(run=cmd_backup)

    p = sub.add_parser("settings", help="list every setting with its current value")
    p.add_argument("--markdown", action="store_true", help="print the documentation table of all settings")
    p.set_defaults(run=cmd_settings)
    return top


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    return run_guarded(parser().parse_args(argv), out or sys.stdout)


def run_guarded(args: argparse.Namespace, out: TextIO) -> int:
    """Run the chosen command; known failures become one 'error: …' message and exit code 1."""
    try:
        settings = _settings(args)
        logging.basicConfig(level=getattr(logging, str(settings.log_level).upper(), logging.INFO),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return args.run(args, settings, out)
    except KnowledgeError as exc:
        print("error: the knowledge files have problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_ERROR
    except (ConfigError, EmbeddingError, IndexLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK
