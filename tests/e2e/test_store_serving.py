"""The store as serving and replicas use it: several processes on one store at once (SQLite on one machine,
PostgreSQL anywhere) count one rate limit and see each other's prompts and memory; the old chat-memory file
can neither stop the bot nor run code in it, and its memory still answers a follow-up after the upgrade."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.conversation import Conversation
from bot.store import Store
from devtools.fakeapi import FakeBotAPI
from tests.helpers import USER, RunningBot, ask, bold_texts, plain
from tests.store_fixtures import RunsCode, StoreSettings, write_ptb_pickle

pytestmark = pytest.mark.slow  # subprocesses and the real bot

WORKER = Path(__file__).with_name("store_worker.py")
PROCESSES = 4


def run_workers(settings_env: dict[str, str], tmp_path: Path, what: str, count: int) -> list[dict[str, Any]]:
    go = tmp_path / "go"
    environment = {**os.environ, **settings_env}
    environment.pop("BOT_SETTINGS", None)
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(go), what, str(p), str(count)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
               for p in range(1, PROCESSES + 1)]
    time.sleep(1.0)  # all have opened the store
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    return results


def _environment(store_settings: StoreSettings) -> dict[str, str]:
    settings = store_settings()
    if settings.database_url:
        return {"DATABASE_URL": settings.database_url}
    return {"BOT_FEEDBACK_DB": str(settings.path("feedback_db"))}


def test_processes_at_once_count_one_limit_and_share_prompts_and_memory(store_settings: StoreSettings,
                                                                         tmp_path: Path) -> None:
    environment = _environment(store_settings)
    limited = run_workers(environment, tmp_path, "limit", 30)  # 120 questions of one user, 50 allowed
    assert sum(r["done"] for r in limited) == 50
    (tmp_path / "go").unlink()
    prompted = run_workers(environment, tmp_path, "prompts", 25)
    assert sum(r["done"] for r in prompted) == PROCESSES * 25
    (tmp_path / "go").unlink()
    run_workers(environment, tmp_path, "memory", 25)
    store = Store(store_settings())
    assert all(store.prompted_question(7, p * 1000 + n) == 1 for p in range(1, PROCESSES + 1) for n in range(25))
    assert json.loads(store.load_memory(7) or "")["n"] == 24  # the last write of one of them, whole
    assert all(json.loads(store.load_memory(p) or "") == {"n": 24} for p in range(1, PROCESSES + 1))
    assert store._open().execute("SELECT COUNT(*) FROM chat_memory").fetchone()[0] == PROCESSES + 1
    store.close()


@pytest.mark.parametrize("content", ["empty", "truncated", "crafted"])
def test_a_damaged_or_crafted_memory_file_never_stops_the_bot(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                               tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                               content: str) -> None:
    memory_file = tmp_path / "data" / "conversations.pickle"  # the conversation_store the bot's settings name
    marker = tmp_path / "ran"
    write_ptb_pickle(memory_file, {USER: {"last_question": {"question": "城市书房有多少家"}}})
    whole = memory_file.read_bytes()
    memory_file.write_bytes({"empty": b"", "truncated": whole[:len(whole) // 3],
                             "crafted": pickle.dumps({"chat_data": {USER: {"x": RunsCode(marker)}}})}[content])
    running = start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    assert "超110家" in plain(reply) and running.bot.stats.errors == 0
    assert not marker.exists() and memory_file.with_name("conversations.pickle.refused").exists()
    lines = [r for r in caplog.records if "old memory file" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING


def test_memory_from_the_old_file_answers_a_follow_up_after_the_upgrade(api: FakeBotAPI, engine: Any,
                                                                        start: Callable[..., RunningBot],
                                                                        tmp_path: Path) -> None:
    memory: dict[str, Any] = {}
    Conversation(engine, engine.settings).respond("温州的城市书房有多少家？", memory)  # as the old bot kept it
    write_ptb_pickle(tmp_path / "data" / "conversations.pickle", {USER: memory})
    start()
    [reply] = ask(api, "接待了多少人次？", user_id=USER)
    assert "1400多万人次" in bold_texts(reply)
