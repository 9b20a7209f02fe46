"""`python -m devtools bench-faults`: issue 19's fault figures, measured on real ``python -m bot serve`` processes.

* start-up: ``serve`` (polling the fake Bot API, the SQLite store) with no chats stored, then with CHATS
  chats stored: seconds from the process's start to its reply to a /help that waits for it (model, index,
  store and all), the resident memory then, and the process's peak resident memory over the whole run
  (wait4's ru_maxrss once it has ended); and the exit code of the SIGTERM that ends it;
* /help under load, in the process with CHATS chats stored: HELP_CHATS stored chats send /help at the same
  moment, first alone, then while ASK_CHATS other chats each ask a question (answers computed, each chat's
  memory written): /help latency p50/p95/max, from the update entering the fake API to the reply recorded
  there. Telegram's own sending limit (about 30 messages a second, setting telegram_rate_limiter) is off
  here, so the figures are the bot's: with it on, 200 replies at once take 7 s whatever the bot does;
* two replicas: ``devtools.replicas.kill_run`` on a temporary PostgreSQL server: updates sent, answered,
  answered twice, delivered again, and what the store kept.

Before, with python-telegram-bot's pickle file, the issue measured 30 s and ~1 GB at start-up with 100,000
chats and /help stalls of up to 60 s; ``bench-store`` measures loading such a file alone. Nothing is judged
here: every figure is printed.
"""

from __future__ import annotations

import queue
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings, load_settings
from bot.index import build_index, current_build
from bot.store import Store
from bot.store.memory import encode_memory

from ..fakeapi import Call, FakeBotAPI
from ..pgserver import postgres_binaries, temporary_postgres
from ..replicas import ServeProcess, kill_run, replica_environment, replicas_behind_a_proxy
from .measure import summary_ms
from .store import chat_memory

STARTUP_USER = 990_000_000  # sends the /help that marks the end of start-up (no stored memory)
HELP = "/help"
ASKED = "温州的城市书房有多少家？"


def _index(settings: Settings, work: Path, log: Any) -> Path:
    """The configured index when it has a build, else knowledge/ built into the work folder."""
    index_dir = settings.path("index_dir")
    if current_build(index_dir) is not None:
        return index_dir
    from bot.embedding import load_embedder

    target = work / "index"
    log(f"no index in {index_dir}: building {settings.path('knowledge_dir')} into {target}")
    build_index(settings.replace(index_dir=str(target)), load_embedder)
    return target


def _burst(api: FakeBotAPI, messages: list[tuple[int, str]], timed: set[int], timeout: float = 300.0
           ) -> list[float]:
    """Send every (chat, text) at once; the seconds each chat in ``timed`` waited for its reply."""
    replies: queue.SimpleQueue[Call] = api.watch("sendMessage")
    sent = {}
    for chat, text in messages:
        sent[chat] = time.monotonic()
        api.send_text(text, user_id=chat)
    waited: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(waited) < len(sent):
        call = replies.get(timeout=max(0.1, deadline - time.monotonic()))
        chat = int(call.params["chat_id"])
        if chat in sent and chat not in waited:
            waited[chat] = call.time - sent[chat]
    return [seconds for chat, seconds in waited.items() if chat in timed]


def _serve_run(index_dir: Path, data: Path, chats: int, help_chats: int, ask_chats: int, log: Any
               ) -> dict[str, Any]:
    """One ``serve`` process over ``chats`` stored chats: start-up, then /help bursts when ``help_chats``."""
    data.mkdir(parents=True, exist_ok=True)
    with FakeBotAPI() as api:
        environment = replica_environment(api, index_dir, data, user_id_salt="bench", telegram_rate_limiter="false")
        if chats:
            store = Store(load_settings(environ=environment))
            now = time.time()
            store.import_memories({chat: encode_memory(chat_memory(chat, now)) for chat in range(1, chats + 1)}, now)
            store.close()
            log(f"  {chats} chats stored in {data / 'feedback.sqlite3'}")
        api.send_text(HELP, user_id=STARTUP_USER)
        serving = ServeProcess(environment, data / "serve.log")
        api.wait_for("sendMessage", lambda call: call.params["chat_id"] == STARTUP_USER, timeout=300)
        figures: dict[str, Any] = {"startup_seconds": round(time.perf_counter() - serving.started, 2),
                                   "rss_mb_when_ready": serving.memory_mb("VmRSS")}
        log(f"  ready after {figures['startup_seconds']} s")
        if help_chats:
            helpers = list(range(1, help_chats + 1))  # stored chats: their memory is read before each update
            alone = _burst(api, [(chat, HELP) for chat in helpers], set(helpers))
            others = list(range(help_chats + 1, 2 * help_chats + 1))
            askers = list(range(2 * help_chats + 1, 2 * help_chats + ask_chats + 1))
            mixed = _burst(api, [(chat, ASKED) for chat in askers] + [(chat, HELP) for chat in others], set(others))
            figures["help_alone"] = summary_ms(alone)
            figures["help_while_asked"] = summary_ms(mixed)
            figures["ask_chats"] = ask_chats
        figures["exit_code_on_sigterm"] = serving.stop()
        figures["peak_rss_mb"] = serving.peak_mb
    return figures


def _replica_run(index_dir: Path, work: Path, log: Any) -> dict[str, Any]:
    binaries = postgres_binaries()
    if binaries is None:
        log("two replicas: skipped, PostgreSQL is not installed (apt-get install postgresql)")
        return {"skipped": "PostgreSQL is not installed"}
    with temporary_postgres(binaries, durable=True) as server, FakeBotAPI() as api:
        url = server.create_database()
        with replicas_behind_a_proxy(api, index_dir, work, url) as (replicas, proxy):
            store = Store(load_settings(environ={"DATABASE_URL": url}))
            try:
                return asdict(kill_run(api, proxy, replicas, store))
            finally:
                store.close()


def run_fault_bench(settings: Settings, chats: int, help_chats: int, ask_chats: int, replicas: bool, out: TextIO,
                    log: Any) -> dict[str, Any]:
    results: dict[str, Any] = {"chats": chats, "help_chats": help_chats, "serve": {}}
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as folder:
        work = Path(folder)
        index_dir = _index(settings, work, log)
        for stored in (0, chats):
            log(f"serve with {stored} chats stored:")
            results["serve"][str(stored)] = _serve_run(index_dir, work / f"serve-{stored}", stored,
                                                       help_chats if stored else 0, ask_chats, log)
        if replicas:
            log("two replicas on PostgreSQL, one killed while updates arrive:")
            results["replicas"] = _replica_run(index_dir, work / "replicas", log)
    print(format_fault_bench(results), file=out)
    return results


def format_fault_bench(results: dict[str, Any]) -> str:
    serve = results["serve"]
    lines = [f"{'serve (polling, SQLite store)':<44}" + "".join(f"{stored + ' chats stored':>22}" for stored in serve)]

    def row(label: str, cell: Any) -> str:
        return f"{label:<44}" + "".join(f"{cell(figures):>22}" for figures in serve.values())

    lines += [row("start-up to the first /help answered (s)", lambda f: f"{f['startup_seconds']:.2f}"),
              row("resident memory then (MB)", lambda f: f"{f['rss_mb_when_ready']:.0f}"),
              row("peak resident memory of the run (MB)", lambda f: f"{f['peak_rss_mb']:.0f}"),
              row("exit code on SIGTERM", lambda f: str(f["exit_code_on_sigterm"]))]
    loaded = serve[str(results["chats"])]
    if "help_alone" in loaded:
        for key, label in (("help_alone", f"{results['help_chats']} chats' /help at once"),
                           ("help_while_asked", f"the same while {loaded['ask_chats']} chats ask")):
            figures = loaded[key]
            lines.append(f"{label}: p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                         f"max {figures['max_ms']:.0f} ms (n={figures['n']})")
    kill = results.get("replicas")
    if kill and "sent" in kill:
        lines.append(f"two replicas, one SIGKILLed while holding updates: {kill['sent']} updates sent, "
                     f"{kill['answered']} answered ({kill['answered_twice']} twice), {kill['delivered_again']} "
                     f"delivered again; in the store: {kill['questions_stored']} questions, "
                     f"{kill['memories_stored']} chats' memory")
    elif kill:
        lines.append(f"two replicas: skipped ({kill['skipped']})")
    return "\n".join(lines)
