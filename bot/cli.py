"""`python -m bot …`: the one entry point (build, import, remove, pin, ask, chat, eval, serve, report, backup,
health, settings).

Benchmarks and soak runs are development tooling: `python -m devtools …` (not part of the product package)."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn, TextIO

import yaml

from .config import SETTINGS, Settings, load_settings, refuse_secret_overrides
from .conversation import Conversation
from .embedding import load_embedder
from .engine import Engine
from .errors import ArticleImportError, ArticleRemoveError, BotError, ConfigError, FeedbackStoreError, KnowledgeError
from .heartbeat import problem as heartbeat_problem
from .index import build_index, check_current_build
from .knowledge import load_knowledge, read_yaml
from .normalize import replace_surrogates
from .text import counted

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.settings)
    overrides = {name: value for name, value in (args.set or [])}
    refuse_secret_overrides(list(overrides))
    return settings.replace(**overrides) if overrides else settings


def cmd_build(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .pins import checked_pins

    knowledge = load_knowledge(settings.path("knowledge_dir"))
    pins = checked_pins(settings.path("knowledge_dir"), knowledge, settings.chunk_max_chars)
    if args.check:
        paragraphs = sum(len(s.paragraphs) for s in knowledge.sections)
        counts = [counted(len(knowledge.articles), "article"), counted(len(knowledge.sections), "section"),
                  counted(paragraphs, "paragraph"), counted(len(knowledge.synonyms), "synonym group"),
                  counted(len(knowledge.units), "unit group"), counted(len(knowledge.examples), "example question"),
                  counted(len(pins), "pin")]
        print(f"ok: {', '.join(counts)} in {settings.path('knowledge_dir')}", file=out)
        for article in knowledge.articles:
            sections = [s for s in knowledge.sections if s.article_id == article.id]
            print(f"  {article.id}: {article.citation}, {counted(len(sections), 'section')}, "
                  f"{counted(sum(len(s.paragraphs) for s in sections), 'paragraph')}", file=out)
        return EXIT_OK
    progress = args.progress or sys.stderr.isatty()
    report = build_index(settings, load_embedder, progress=progress, knowledge=knowledge)
    if report.not_reused:
        print(f"note: nothing reused from the previous build: {report.not_reused}", file=out)
    print(f"built {report.path}\n  files {report.files}, chunks {report.chunks}, embedded {report.embedded}, "
          f"reused {report.reused}, segmented {report.tokenized}, {report.seconds:.1f} s "
          f"(model load {report.model_seconds:.1f} s)", file=out)
    print("  phases (s): " + ", ".join(f"{step} {seconds:.2f}" for step, seconds in report.phases.items()), file=out)
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Article files or web pages → article folders in knowledge/, or (--dry-run) only the split they would
    give and, for an article already there, what its text would change. Every source is read and checked
    before any is written; each article folder is written whole (bot.article_folder)."""
    from .article_folder import clean_leftovers
    from .importer import apply_import, describe_changes, describe_plan, plan_import
    from .readers import ReadLimits

    knowledge_dir = settings.path("knowledge_dir")
    if len(args.sources) > 1 and (args.slug or args.id_prefix):
        raise ArticleImportError("--slug and --id-prefix name one article: import one file with them")
    written = 0
    try:
        if not args.dry_run:  # an interrupted import's or removal's leftovers, whatever this run writes
            for done in clean_leftovers(knowledge_dir):
                print(done, file=out)
        plans = [plan_import(source, knowledge_dir, args.slug, args.id_prefix, ReadLimits.from_settings(settings),
                             float(settings.import_url_timeout)) for source in args.sources]
        for plan in plans:
            print("\n".join(describe_plan(plan, knowledge_dir)), file=out)
            if plan.old_paragraphs and not plan.unchanged and (args.dry_run or args.replace):
                print("\n".join(describe_changes(plan) or ["  the text is the same (only headings or files differ)"]),
                      file=out)
            if args.dry_run:
                continue
            if plan.unchanged:
                print("  unchanged: nothing written", file=out)
                continue
            apply_import(plan, replace=args.replace)
            written += 1
            print(f"  wrote {plan.folder}; review it, then `python -m bot build --check` and `python -m bot build`",
                  file=out)
    except KeyboardInterrupt:
        print(f"error: import interrupted: {written} article folder(s) written, each whole; no article is half "
              "written (run the import again to finish)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Remove one article folder (its sections and everything stored in it), after showing what goes."""
    from .article_folder import checked_slug, clean_leftovers, remove_folder
    from .knowledge import ARTICLE_FILE

    knowledge_dir = settings.path("knowledge_dir")
    folder = knowledge_dir / checked_slug(args.article, knowledge_dir, given_as="article")
    if not folder.is_dir():
        known = sorted(p.name for p in knowledge_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if knowledge_dir.is_dir() else []
        raise ArticleRemoveError(f"no article folder {folder} (articles: {', '.join(known) or 'none'})")
    readable, data = read_yaml(folder / ARTICLE_FILE, ARTICLE_FILE, [])
    headline = data.get("headline") if readable and isinstance(data, dict) else None
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    print(f"{folder}: {'《' + str(headline) + '》' if headline else '(no headline)'} — {len(files)} file(s) go: "
          f"{' '.join(files)}", file=out)
    _print_pins_going(folder, out)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ArticleRemoveError(f"{folder} was not removed: there is no terminal to confirm on; "
                                     "add --yes to remove it")
        try:
            answer = input("remove it? [y/N] ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("not removed", file=out)
            return EXIT_OK
    try:
        clean_leftovers(knowledge_dir)
        remove_folder(folder)
    except OSError as exc:
        raise ArticleRemoveError(f"{folder}: cannot remove the article ({exc.strerror or exc})") from None
    print(f"removed {folder}; now `python -m bot build --check` and `python -m bot build` (a running bot loads "
          "the new build by itself: setting auto_reload_seconds)", file=out)
    return EXIT_OK


def _print_pins_going(folder: Path, out: TextIO) -> None:
    """The reviewed pins stored in an article folder about to be removed: they go with it."""
    from .knowledge import PINS_FILE
    from .pins import parse_pins

    if not (folder / PINS_FILE).exists():
        return
    problems: list[str] = []
    readable, data = read_yaml(folder / PINS_FILE, f"{folder.name}/{PINS_FILE}", problems)
    pins, errors = parse_pins(data, f"{folder.name}/{PINS_FILE}") if readable else ([], problems)
    if errors:
        print(f"  its pins file {PINS_FILE} goes too ({errors[0]})", file=out)
        return
    print(f"  {len(pins)} pin(s) go with it ({PINS_FILE}):", file=out)
    for pin in pins:
        print(f"    “{pin.question}” → section {pin.section}", file=out)


def cmd_pin(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Add, list or remove reviewed pins (knowledge/<article>/pins.yaml): a question and its paraphrases answered
    from one passage (and sentence). A running bot takes a change within auto_reload_seconds, without a build."""
    from .chunking import chunk_knowledge
    from .pins import add_pin, load_pins, pin_passage, remove_pins

    knowledge_dir = settings.path("knowledge_dir")
    if args.list:
        pins = load_pins(knowledge_dir)
        for pin in pins:
            target = f"sentence “{pin.text}”" if pin.quotes_sentence else f"passage “{pin.text[:30]}…”"
            print(f"{pin.file}  “{pin.question}” → {pin.section}: {target}"
                  + (f"  ({pin.by}, {pin.at})" if pin.by or pin.at else ""), file=out)
        print(f"{len(pins)} pin(s) in {knowledge_dir}", file=out)
        return EXIT_OK
    if args.remove:
        removed = remove_pins(knowledge_dir, args.remove)
        if not removed:
            raise KnowledgeError([f"no pin of the question “{args.remove}” (see `python -m bot pin --list`)"])
        for pin in removed:
            print(f"removed from {pin.file}: “{pin.question}” → {pin.section}", file=out)
        return EXIT_OK
    if len(args.target) != 2:
        raise KnowledgeError(['give the question and the passage id: python -m bot pin "问题" PASSAGE_ID '
                              "(passage ids as `ask --json` and `report` show them)"])
    question, passage_id = args.target
    knowledge = load_knowledge(knowledge_dir)
    chunks = {c.id: c for c in chunk_knowledge(knowledge, settings.chunk_max_chars)}
    chunk = chunks.get(passage_id)
    if chunk is None:
        raise KnowledgeError([f"no passage '{passage_id}' in {knowledge_dir} (passage ids as `ask --json` and "
                              "`report` show them; after an edit, the ids of the next build)"])
    section = knowledge.section(chunk.section)
    pin = pin_passage(question, chunk, section, knowledge_dir, args.sentence or "", by=args.by)
    replaced = add_pin(knowledge_dir, pin)
    if settings.database_url or settings.path("feedback_db").exists():  # reviewed: off the report's review list
        from .store import Store
        from .store.store import PINNED

        store = Store(settings)
        try:
            store.record_review(question, PINNED, passage_id)
        finally:
            store.close()
    quoted = f"quoting “{pin.text}”" if pin.quotes_sentence else "the answer step chooses the sentence"
    heading = section.heading if section else chunk.section
    print(f"{'replaced the pin in' if replaced else 'pinned in'} {pin.file}: “{pin.question}” → {passage_id} "
          f"({heading}), {quoted}. A running bot answers from it within auto_reload_seconds; review the "
          "file with the content (`python -m bot build --check`).", file=out)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Each message on its own (a batch's lines and rows are separate inquiries, not one chat): the question
    given, stdin's lines (bot.batch: a question or a JSON object per line; blank lines skipped), or a
    spreadsheet's rows (--in/--out)."""
    from .batch import BatchLine, answer_lines, read_lines

    if args.in_file or args.out_file or args.column:
        return _ask_sheet(args, settings, out)
    conversation = Conversation(Engine(settings), settings)
    if args.question:
        # bytes of the command line that are not UTF-8 arrive as lone surrogates: replaced, like a message's
        lines: Iterable[BatchLine] = [BatchLine(1, replace_surrogates(" ".join(args.question)))]
    else:
        source = getattr(sys.stdin, "buffer", None)
        lines = read_lines(source if source is not None else (line.encode("utf-8") for line in sys.stdin))
    try:
        answer_lines(lambda question: conversation.respond(question, {}), lines, out, as_json=args.json,
                     spaced=not args.question, err=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted; the answers printed so far are complete, one per line", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def _ask_sheet(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """A spreadsheet's questions answered row by row into another spreadsheet (bot.batch, bot.sheets); the
    files are checked before the model loads."""
    from .batch import SheetRun, plan_sheet
    from .errors import SheetError

    if not (args.in_file and args.out_file) or args.question or args.json:
        raise SheetError("--in FILE and --out FILE go together (with --column NAME if needed), without a question "
                         "or --json: python -m bot ask --in questions.xlsx --out answers.xlsx")
    plan = plan_sheet(Path(args.in_file), Path(args.out_file), list(settings.sheet_question_headers), args.column,
                      int(settings.sheet_header_rows))
    run = SheetRun(plan)
    try:
        conversation = Conversation(Engine(settings), settings)
        run.run(lambda question: conversation.respond(question, {}), progress=args.progress or sys.stderr.isatty())
    except KeyboardInterrupt:
        print(f"error: interrupted after {run.done} of {run.total} rows; {plan.target} was not written "
              "(run the command again)", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(run.summary(), file=out)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """A chat in the terminal, with follow-ups as in Telegram; /topics lists what the bot can answer."""
    engine = Engine(settings)
    conversation, memory = Conversation(engine, settings), dict[str, Any]()
    print(f"已载入 {engine.state.source}。直接输入问题，回车发送；/topics 看能回答哪些方面；"
          "输入 exit 或按 Ctrl-D 退出。", file=out)
    while True:
        try:
            message = input("问> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return EXIT_OK
        if message.strip().lower() in {"exit", "quit", "q", "退出"}:
            return EXIT_OK
        if message.strip() == "/topics":
            print("\n".join(f"· {s.heading}" for s in engine.index.sections) + "\n", file=out, flush=True)
        elif message.strip():
            print(conversation.respond(message, memory).text + "\n", file=out, flush=True)


def cmd_eval(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .evaluate import evaluate, evaluate_followups, format_report

    path = Path(args.file)
    if path.suffix.lower() == ".json":
        return _eval_squad(args, settings, out)
    engine = Engine(settings)
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(items, list) and items and isinstance(items[0], dict) and "turns" in items[0]:
        report = evaluate_followups(Conversation(engine, settings), path)
    else:
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
    from .evaluate import (
        evaluate_nearmiss,
        evaluate_offtopic,
        evaluate_squad,
        format_squad_report,
        nearmiss_settings,
        squad_settings,
    )
    from .squad import read_squad

    path = Path(args.file)
    if args.as_offtopic:
        _, questions = read_squad(path)
        report = evaluate_offtopic(Engine(settings), questions)
        text = f"{path.name} asked against {settings.path('knowledge_dir')}: {report['questions']} questions, " \
               f"declined {report['declined']:.3f}"
    else:
        cache = Path(args.work_dir) if args.work_dir else None
        local, questions = squad_settings(path, settings, cache, progress=sys.stderr.isatty())
        report = evaluate_squad(Engine(local), questions, baseline=not args.no_baseline)
        if not args.no_nearmiss:
            cut, nearmiss, intact = nearmiss_settings(path, settings, cache, progress=sys.stderr.isatty())
            report["nearmiss"] = evaluate_nearmiss(Engine(cut), nearmiss, intact)
        text = format_squad_report(path.name, report)
    report["file"] = path.name
    print(json.dumps(report, ensure_ascii=False) if args.json else text, file=out)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return EXIT_OK


def cmd_health(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """What `ask` checks before it answers, cheaply: the build's files are all there at their recorded sizes
    and it was made by the configured model; --deep loads everything (checksums, model fingerprint);
    --live also needs a fresh heartbeat from a running `serve` (the container HEALTHCHECK)."""
    _, manifest, fallback = check_current_build(settings)
    if args.deep:
        engine = Engine(settings)
        manifest, fallback = engine.index.manifest, engine.index.fallback
    if fallback:  # the bot can serve, from an older build: a warning, not a failure
        print(f"warning: {fallback}", file=out)
    if args.live:
        problem = heartbeat_problem(settings.path("heartbeat_file"), float(settings.heartbeat_max_age))
        if problem:
            raise ConfigError(problem)
    print(f"ok: index {manifest['build_id']} ({manifest['chunk_count']} passages, model {manifest['model_id']})"
          + (", serve is polling or listening" if args.live else ""), file=out)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from .telegram.serve import serve

    return serve(settings)


def cmd_report(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Unanswered and down-voted questions for the editors, from the store; each not yet reviewed with its three
    best candidate passages and the `pin` command for each; the content gaps staff marked."""
    from .store import Store, format_report

    path = settings.path("feedback_db")
    if not settings.database_url and not path.exists():
        print(f"error: no feedback database at {path} yet (the bot creates it when it gets its first question; "
              "setting feedback_db)", file=sys.stderr)
        return EXIT_ERROR
    store = Store(settings)
    try:
        report = store.report(days=args.days, limit=args.limit)
    finally:
        store.close()
    if not args.no_candidates and (report["unanswered"] or report["downvoted"]):
        from .review import add_candidates

        try:
            add_candidates(report, Engine(settings))
        except BotError as exc:  # no index yet: the report without candidates, and why
            print(f"note: no candidate passages ({exc.lines[0]})", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else format_report(report), file=out)
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """A consistent copy of the SQLite store (and its salt file), safe while the bot is writing."""
    from .store import backup_database

    if settings.database_url:
        raise FeedbackStoreError("the store is a PostgreSQL database (database_url): back it up with PostgreSQL's "
                                 "pg_dump, e.g. pg_dump --format=custom --file=bot-store.dump \"$DATABASE_URL\" "
                                 "(docs/operations.md); `backup` copies the SQLite file feedback_db")
    source = settings.path("feedback_db")
    try:
        if args.dest.endswith("/"):  # a folder, maybe not there yet
            Path(args.dest).mkdir(parents=True, exist_ok=True)
        result = backup_database(source, Path(args.dest))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    salt = f"; salt file copied to {result['salt']}" if result["salt"] else ""
    print(f"backed up {source} to {result['path']}: {result['questions']} questions, {result['votes']} votes, "
          f"{result['bytes'] / 1024:.0f} KB, integrity ok{salt}", file=out)
    return EXIT_OK


def cmd_settings(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    if args.markdown:  # docs/settings.md, generated from the registry (a test checks the file equals this)
        print("# Settings\n\nEvery setting, its default, the environment variable that overrides it and what it does. "
              "Values come from the defaults, then a YAML file (`--settings FILE`, `$BOT_SETTINGS` or "
              "`./settings.yaml`), then the environment; `--set NAME=VALUE` overrides one for a run. Secrets are "
              "read from the environment only.\n\nGenerated by `python -m bot settings --markdown > "
              "docs/settings.md`; do not edit by hand.\n", file=out)
        print("| setting | default | environment | what it does |\n|---|---|---|---|", file=out)
        for setting in SETTINGS.values():
            default = "" if setting.secret else json.dumps(setting.default, ensure_ascii=False)
            env = " or ".join(f"`{name}`" for name in setting.env_names)
            print(f"| `{setting.name}` | `{default}` | {env} | {setting.help} |", file=out)
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

    p = sub.add_parser("import", help="import articles (.pdf .docx .html .md .txt, or a web page's http(s) address) "
                                      "into knowledge/ as section files")
    p.add_argument("sources", nargs="+", metavar="FILE_OR_URL",
                   help="article files or web addresses; each becomes a folder knowledge/<slug>/")
    p.add_argument("--dry-run", action="store_true",
                   help="show the split (and, for an article already there, the sentences and figures that would "
                        "change) without writing anything")
    p.add_argument("--replace", action="store_true",
                   help="overwrite the article's folder when it differs (an updated article; reviewed edits are lost)")
    p.add_argument("--slug", help="folder name for the article (default: from the file name)")
    p.add_argument("--id-prefix", help="prefix of the section ids (default: the slug)")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("remove", help="remove an article folder from knowledge/ (asks first; --yes to skip)")
    p.add_argument("article", help="the article's folder name in knowledge/ (its id)")
    p.add_argument("--yes", action="store_true", help="remove without asking (needed where there is no terminal)")
    p.set_defaults(run=cmd_remove)

    p = sub.add_parser("pin", help="pin a question (and its paraphrases) to the passage that answers it; --list, "
                                   "--remove (docs/staff.md)")
    p.add_argument("target", nargs="*", metavar="QUESTION PASSAGE_ID",
                   help="the question as staff saw it and the passage id (as `ask --json` and `report` show)")
    p.add_argument("--sentence", help="the sentence to quote: its number in the passage (1 first) or some of its "
                                      "text (default: the answer step chooses)")
    p.add_argument("--by", default="cli", help="who reviewed it (kept in the pins file; default %(default)s)")
    p.add_argument("--list", action="store_true", help="list every pin")
    p.add_argument("--remove", metavar="QUESTION", help="remove the pin of this question")
    p.set_defaults(run=cmd_pin)

    p = sub.add_parser("ask", help="answer a question, the questions of stdin's lines, or a spreadsheet's rows "
                                   "(--in/--out)",
                       description="Answer a question; or each line of stdin: a question, or a JSON object "
                                   '{"id": …, "question": "…"} whose other keys come back unchanged (blank lines '
                                   "are skipped); or each row of a .csv/.xlsx file (--in) into another (--out), "
                                   "with the answer in added columns.")
    p.add_argument("question", nargs="*", help="the question (omit to read questions from stdin)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per answer (the batch interface); a line that cannot be asked gets an "
                        "error object naming the line and the field, and the batch goes on")
    p.add_argument("--in", dest="in_file", metavar="FILE",
                   help="a .csv or .xlsx file of questions, one per row, under a header such as 问题 or 来信内容 "
                        "(setting sheet_question_headers)")
    p.add_argument("--out", dest="out_file", metavar="FILE",
                   help="the .csv or .xlsx file to write: every input row and column, then 答复句 数字 原文段落 文章 "
                        "章节 日期 链接 出处 状态 (written whole at the end)")
    p.add_argument("--column", default="", metavar="NAME", help="--in: the header of the question column")
    p.add_argument("--progress", action="store_true",
                   help="--in: show a progress bar even when stderr is not a terminal")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("chat", help="interactive chat in the terminal, with the bot's replies")
    p.set_defaults(run=cmd_chat)

    p = sub.add_parser("eval", help="score a question set (hit@k, MRR, lead@1, figure@1, near-miss, abstention) "
                                    "with misses")
    p.add_argument("file", help="question set YAML (see tests/fixtures/dev.yaml), or a SQuAD-style JSON file "
                                "(CMRC 2018, DRCD): its contexts are indexed on their own and a BM25 baseline "
                                "runs beside the bot")
    p.add_argument("--quiet", action="store_true", help="metrics only, no misses")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--as-offtopic", action="store_true",
                   help="SQuAD file: ask its questions against the configured knowledge; print the share declined")
    p.add_argument("--no-baseline", action="store_true", help="SQuAD file: skip the BM25 baseline")
    p.add_argument("--no-nearmiss", action="store_true",
                   help="SQuAD file: skip the near-miss set (each context with one amount question's answer cut out)")
    p.add_argument("--work-dir", help="SQuAD file: folder for the temporary knowledge and index "
                                      "(default: the system temp folder; kept, so reruns re-embed nothing)")
    p.add_argument("--json-out", help="also write the report as JSON to this file")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("health", help="check settings and index (exit 0 when the bot can serve)")
    p.add_argument("--deep", action="store_true", help="also load the model and the whole index")
    p.add_argument("--live", action="store_true",
                   help="also check that `serve` is polling or listening (its heartbeat file; the HEALTHCHECK)")
    p.set_defaults(run=cmd_health)

    p = sub.add_parser("serve", help="run the Telegram bot (token in $TELEGRAM_BOT_TOKEN; polling or webhook)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("report", help="unanswered and down-voted questions from the store")
    p.add_argument("--days", type=int, default=30, help="only the last N days (0: everything kept; default 30)")
    p.add_argument("--limit", type=int, default=20, help="most questions listed per table (default 20)")
    p.add_argument("--json", action="store_true", help="the report as one JSON object")
    p.add_argument("--no-candidates", action="store_true",
                   help="leave out each question's candidate passages and pin commands (they load the model)")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("backup", help="copy the SQLite store consistently, even while the bot is writing "
                                      "(PostgreSQL: pg_dump)")
    p.add_argument("dest", help="backup file, or an existing folder to put feedback-<UTC time>.sqlite3 in")
    p.set_defaults(run=cmd_backup)

    p = sub.add_parser("settings", help="list every setting with its current value")
    p.add_argument("--markdown", action="store_true", help="print docs/settings.md: the reference of every setting")
    p.set_defaults(run=cmd_settings)
    return top


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    return run_guarded(parser().parse_args(argv), out or sys.stdout)


def run_program() -> NoReturn:
    """The process (`python -m bot`, `wenzhou-bot`): the command, then exit with every object left frozen out
    of Python's cyclic collector. The interpreter's last collections would walk the millions of objects torch,
    sentence-transformers and the index made, only for the process to end: about 0.7 s of a cold ``ask``
    (docs/scale-study.md). Nothing the bot writes waits for them: the commands close their files, sheets and
    stores, and logging is flushed at exit as before."""
    code = main()
    gc.freeze()
    sys.exit(code)


def _disk_full(exc: BaseException | None) -> OSError | None:
    """The no-space error behind ``exc`` (itself, or what it was raised from), if that is what it is."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return exc
        if "No space left on device" in str(exc):  # FAISS reports a failed write as a RuntimeError
            return OSError(errno.ENOSPC, "No space left on device")
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def run_guarded(args: argparse.Namespace, out: TextIO) -> int:
    """Run the chosen command; known failures become one 'error: …' message and exit code 1."""
    settings: Settings | None = None
    try:
        settings = _settings(args)
        logging.basicConfig(level=getattr(logging, str(settings.log_level).upper(), logging.INFO),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return args.run(args, settings, out)
    except BotError as exc:
        print(f"error: {exc.lines[0]}", file=sys.stderr)
        for line in exc.lines[1:]:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK
    except (OSError, RuntimeError) as exc:
        full = _disk_full(exc)
        if full is None or settings is None:
            raise
        where = full.filename or settings.path("feedback_db" if args.command == "backup" else "index_dir")
        print(f"error: the disk is full (writing {where}): free space on that disk and run the command again; "
              "nothing was changed (older index builds are in index_dir/builds: setting index_keep_builds "
              "keeps fewer)", file=sys.stderr)
        return EXIT_ERROR
