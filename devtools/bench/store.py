"""`python -m devtools bench-store`: the store's fault figures with many chats stored, on each backend.

For each backend (the SQLite file; PostgreSQL at --database-url, else a temporary server of
devtools.pgserver with PostgreSQL's default durability):

* fill: CHATS chats' memory written in one transaction (as the one-time import of the old file does);
* start-up: in a fresh process, what `serve` does with the store before its first answer (open it, check
  the schema, purge, look for the old file, then read the first chat's memory): seconds, and peak memory
  above the process's after its imports (the median of three processes);
* write: one chat's memory written (``Store.save_memory``, one row), WRITES times over random chats: p50/p95;
* read: one chat's memory read, as before each update of a chat (``Store.load_memory``): p50/p95.

For comparison, the old way: python-telegram-bot's PicklePersistence loading a file of as many chats (what
each start cost before), and the one-time import of such a file into the store. Every figure is printed;
nothing is judged here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings, load_settings
from bot.store import Store
from bot.store.memory import encode_memory

from ..pgserver import postgres_binaries, temporary_postgres
from .measure import proc_status_mb, summary_ms

BACKENDS = ("sqlite", "postgres")
STARTUP_RUNS = 3  # fresh processes timed per backend; the median is reported


def chat_memory(chat: int, at: float) -> dict[str, Any]:
    """What a chat typically remembers: its last question (with its subject) and one 👎 prompt."""
    return {"last_question": {"subject": ["城市书房"], "question": f"温州的城市书房有多少家？第{chat}问", "at": at},
            "why_prompts": {chat % 100_000 + 1: chat}}


def write_legacy_pickle(path: Path, chats: dict[int, dict[str, Any]], bot: Any = None) -> None:
    """The file python-telegram-bot's PicklePersistence kept chat memory in before the store did."""
    from telegram import Bot
    from telegram.ext import PersistenceInput, PicklePersistence

    async def write() -> None:
        persistence = PicklePersistence(path, store_data=PersistenceInput(
            bot_data=False, user_data=False, chat_data=True, callback_data=False), on_flush=True)
        persistence.set_bot(bot or Bot("123456:BENCH-token"))
        await persistence.get_chat_data()
        for chat_id, data in chats.items():
            await persistence.update_chat_data(chat_id, data)
        await persistence.flush()

    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(write())


# ---- measured in a fresh process ------------------------------------------------------------------------------

def _probe(mode: str, argument: str) -> dict[str, Any]:
    """Run in the child: ``startup`` (the store as serve opens it), ``legacy`` (PicklePersistence loading the
    file ``argument``), ``migrate`` (importing that file into the store)."""
    from telegram import Bot
    from telegram.ext import PersistenceInput, PicklePersistence

    from bot.store.memory import migrate_legacy_pickle
    from bot.store.persistence import StorePersistence

    before = proc_status_mb("VmRSS")
    started = time.perf_counter()
    if mode == "legacy":
        persistence = PicklePersistence(Path(argument), store_data=PersistenceInput(
            bot_data=False, user_data=False, chat_data=True, callback_data=False))
        persistence.set_bot(Bot("123456:BENCH-token"))
        chats = len(asyncio.run(persistence.get_chat_data()))
    else:
        settings = load_settings()
        store = Store(settings)
        if mode == "migrate":
            migrate_legacy_pickle(Path(argument), store.import_memories)
            chats = int(store._open().execute("SELECT COUNT(*) FROM chat_memory").fetchone()[0])
        else:
            serving = StorePersistence(store, settings)

            async def first_answer() -> None:
                await serving.get_chat_data()
                await serving.refresh_chat_data(int(argument), {})

            asyncio.run(first_answer())
            chats = 0
        store.close()
    return {"seconds": round(time.perf_counter() - started, 3),
            "peak_mb_above_imports": round(proc_status_mb("VmHWM") - before, 1),
            "rss_mb_after_imports": before, "chats": chats}


def _in_fresh_process(mode: str, argument: str, environment: dict[str, str]) -> dict[str, Any]:
    env = {**os.environ, **environment}
    env.pop("BOT_SETTINGS", None)
    done = subprocess.run([sys.executable, "-m", "devtools.bench.store", mode, argument], capture_output=True,
                          text=True, env=env, check=False, cwd=Path(__file__).resolve().parents[2])
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} probe failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---- one backend -------------------------------------------------------------------------------------------------

def _measure(settings: Settings, environment: dict[str, str], chats: int, writes: int, log: Any) -> dict[str, Any]:
    now = time.time()
    store = Store(settings)
    memories = {chat: encode_memory(chat_memory(chat, now)) for chat in range(1, chats + 1)}
    started = time.perf_counter()
    store.import_memories(memories, now)
    fill = time.perf_counter() - started
    log(f"  filled {chats} chats in {fill:.1f} s")
    figures: dict[str, Any] = {"fill_seconds": round(fill, 2)}
    runs = sorted((_in_fresh_process("startup", str(chats // 2), environment) for _ in range(STARTUP_RUNS)),
                  key=lambda run: run["seconds"])
    figures["startup"] = {**runs[len(runs) // 2], "runs": [run["seconds"] for run in runs]}  # the median run
    pick = random.Random(19)
    write_times, read_times = [], []
    for n in range(writes):
        chat = pick.randint(1, chats)
        text = encode_memory(chat_memory(chat, now + n))
        started = time.perf_counter()
        store.save_memory(chat, text)
        write_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.load_memory(pick.randint(1, chats))
        read_times.append(time.perf_counter() - started)
    figures["write"] = summary_ms(write_times)
    figures["read"] = summary_ms(read_times)
    store._open().execute("DELETE FROM chat_memory")  # the database is the bench's: empty for the import
    store.close()
    return figures


@contextlib.contextmanager
def _backend_settings(backend: str, work: Path, database_url: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings (and the environment giving them to a child) for a fresh store of ``backend``."""
    base = {"BOT_CONVERSATION_STORE": str(work / backend / "conversations.pickle"), "BOT_USER_ID_SALT": "bench"}
    if backend == "sqlite":
        environment = {**base, "BOT_FEEDBACK_DB": str(work / backend / "feedback.sqlite3")}
        yield load_settings(environ=environment), environment
        return
    if database_url:
        environment = {**base, "BOT_DATABASE_URL": database_url}
        yield load_settings(environ=environment), environment
        return
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql), and no --database-url given")
    with temporary_postgres(binaries, durable=True) as server:
        environment = {**base, "BOT_DATABASE_URL": server.create_database()}
        yield load_settings(environ=environment), environment


def run_store_bench(backends: tuple[str, ...], chats: int, writes: int, database_url: str, out: TextIO,
                    log: Any) -> dict[str, Any]:
    results: dict[str, Any] = {"chats": chats, "writes": writes, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        work = Path(folder)
        legacy = work / "legacy" / "conversations.pickle"
        now = time.time()
        log(f"writing an old PicklePersistence file of {chats} chats")
        write_legacy_pickle(legacy, {chat: chat_memory(chat, now) for chat in range(1, chats + 1)})
        results["legacy"] = {"file_mb": round(legacy.stat().st_size / 2**20, 1),
                             "load": _in_fresh_process("legacy", str(legacy), {})}
        for backend in backends:
            log(f"{backend}:")
            with _backend_settings(backend, work, database_url) as (settings, environment):
                figures = _measure(settings, environment, chats, writes, log)
            with _backend_settings(backend, work / "import", database_url) as (_, environment):
                copy = work / "import" / backend / "conversations.pickle"
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes(legacy.read_bytes())
                figures["import_old_file"] = _in_fresh_process("migrate", str(copy), environment)
            results["backends"][backend] = figures
    print(format_store_bench(results), file=out)
    return results


def format_store_bench(results: dict[str, Any]) -> str:
    backends = results["backends"]
    names = list(backends)

    def row(label: str, cell: Any) -> str:
        return f"{label:<44}" + "".join(f"{cell(backends[name]):>24}" for name in names)

    legacy = results["legacy"]
    lines = [f"store with {results['chats']} chats stored".ljust(44) + "".join(f"{n:>24}" for n in names),
             row("fill, one transaction (s)", lambda b: f"{b['fill_seconds']:.2f}"),
             row("start-up to first chat's memory (s)", lambda b: f"{b['startup']['seconds']:.3f}"),
             row("start-up peak memory above imports (MB)", lambda b: f"{b['startup']['peak_mb_above_imports']:.1f}"),
             row(f"one chat's memory write p50 / p95 (ms, n={results['writes']})",
                 lambda b: f"{b['write']['p50_ms']:.2f} / {b['write']['p95_ms']:.2f}"),
             row("one chat's memory read p50 / p95 (ms)",
                 lambda b: f"{b['read']['p50_ms']:.2f} / {b['read']['p95_ms']:.2f}"),
             row("one-time import of the old file (s)", lambda b: f"{b['import_old_file']['seconds']:.2f}"),
             row("one-time import peak memory (MB)",
                 lambda b: f"{b['import_old_file']['peak_mb_above_imports']:.1f}"),
             f"before: PicklePersistence loading the {legacy['file_mb']} MB file at each start: "
             f"{legacy['load']['seconds']:.2f} s, peak memory +{legacy['load']['peak_mb_above_imports']:.1f} MB "
             "(and every flush rewrote the whole file)"]
    return "\n".join(lines)


if __name__ == "__main__":  # a probe in a fresh process: python -m devtools.bench.store MODE ARGUMENT
    print(json.dumps(_probe(sys.argv[1], sys.argv[2])))
