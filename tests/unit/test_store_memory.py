"""Chat memory in the store: plain JSON only, the old pickle file imported once without running anything, and
the python-telegram-bot persistence that writes per chat, off the event loop, and never stops the bot."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import PersistenceInput

from bot.config import Settings, load_settings
from bot.store import Store
from bot.store.memory import decode_memory, encode_memory, plain
from bot.store.persistence import StorePersistence
from tests.store_fixtures import RunsCode, StoreSettings, write_ptb_pickle

USER = 731842659
GROUP = -1001234567890
MEMORY = {"last_question": {"subject": ["城市书房"], "question": "城市书房有多少家？", "at": 1764000000.5},
          "why_prompts": {1201: 77, 1202: 78}}


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    return load_settings(environ={}).replace(feedback_db=str(tmp_path / "data" / "feedback.sqlite3"),
                                             conversation_store=str(tmp_path / "data" / "conversations.pickle"),
                                             **changes)


# ---- plain JSON ------------------------------------------------------------------------------------------------

def test_memory_round_trips_as_plain_json_with_message_ids_kept_as_numbers() -> None:
    text = encode_memory(MEMORY)
    assert decode_memory(text) == MEMORY and text == encode_memory(dict(reversed(MEMORY.items())))
    assert decode_memory(encode_memory({"pair": (1, "a")})) == {"pair": [1, "a"]}


@pytest.mark.parametrize("value", [{1, 2}, b"raw", object(), float("nan"), {1: "a", "b": 2}, {True: 1},
                                   Path("/etc/passwd")])
def test_anything_but_plain_data_is_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        encode_memory({"x": value})


def test_shared_references_cannot_expand_past_the_budget() -> None:
    bomb: list[Any] = ["x"]
    for _ in range(40):  # 2**40 leaves if expanded
        bomb = [bomb, bomb]
    with pytest.raises(ValueError, match="more values"):
        plain(bomb, budget=10_000)


# ---- the old pickle file -----------------------------------------------------------------------------------------

def run_start(settings: Settings, store: Store) -> tuple[StorePersistence, dict[int, Any]]:
    persistence = StorePersistence(store, settings)
    return persistence, asyncio.run(persistence.get_chat_data())


def test_the_old_pickle_file_is_imported_once_under_hashed_keys_and_renamed(tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for(tmp_path)
    path = settings.path("conversation_store")
    write_ptb_pickle(path, {USER: MEMORY, GROUP: {"last_question": {"question": "托位呢"}}, 5: {}})
    store = Store(settings)
    persistence, loaded = run_start(settings, store)
    assert loaded == {}  # nothing read up front
    assert not path.exists() and path.with_name("conversations.pickle.migrated").exists()
    assert decode_memory(store.load_memory(USER) or "") == MEMORY
    assert decode_memory(store.load_memory(GROUP) or "")["last_question"]["question"] == "托位呢"
    assert store.load_memory(5) is None  # an empty memory is not worth a row
    [line] = [r.getMessage() for r in caplog.records if "old memory file" in r.getMessage()]
    assert "imported 2 chats" in line and "renamed it to conversations.pickle.migrated" in line
    database = settings.path("feedback_db").read_bytes()
    assert str(USER).encode() not in database and str(GROUP).encode() not in database
    run_start(settings, store)  # the next start has nothing to import
    assert len([r for r in caplog.records if "old memory file" in r.getMessage()]) == 1
    store.close()


def test_an_old_pickle_older_than_the_retention_is_not_imported(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, conversation_retention_days=30)
    path = settings.path("conversation_store")
    write_ptb_pickle(path, {USER: MEMORY})
    long_ago = time.time() - 400 * 86400
    os.utime(path, (long_ago, long_ago))  # last written 400 days ago
    store = Store(settings)
    run_start(settings, store)
    assert store.load_memory(USER) is None and store.purge() == 0
    assert path.with_name("conversations.pickle.migrated").exists()
    store.close()


@pytest.mark.parametrize("content", ["crafted", "bot object", "empty", "truncated", "garbage", "a set"])
def test_a_pickle_that_is_not_plain_data_is_refused_without_running_anything(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str) -> None:
    settings = settings_for(tmp_path)
    path = settings.path("conversation_store")
    marker = tmp_path / "ran"
    path.parent.mkdir(parents=True)
    if content == "bot object":  # PicklePersistence with a Bot inside chat_data: a persistent reference
        bot = Bot("123456:TEST-token")
        write_ptb_pickle(path, {USER: {"bot": bot}}, bot)
    else:
        write_ptb_pickle(path, {USER: MEMORY})
        raw = path.read_bytes()
        path.write_bytes({
            "crafted": pickle.dumps({"chat_data": {USER: {"x": RunsCode(marker)}}}),
            "empty": b"",
            "truncated": raw[:len(raw) // 2],
            "garbage": b"\x00garbage, not a pickle\n" * 20,
            "a set": pickle.dumps({"chat_data": {USER: {"ids": {1, 2}}}}),
        }[content])
    store = Store(settings)
    persistence, loaded = run_start(settings, store)
    assert loaded == {} and not marker.exists()
    assert not path.exists() and path.with_name("conversations.pickle.refused").exists()
    [line] = [r for r in caplog.records if "old memory file" in r.getMessage()]
    assert line.levelno == logging.WARNING and "refused" in line.getMessage() and "\n" not in line.getMessage()
    assert store.load_memory(USER) is None
    store.close()


def test_the_pickle_stays_for_the_next_start_when_the_store_cannot_take_it(tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path)
    path = settings.path("conversation_store")
    write_ptb_pickle(path, {USER: MEMORY})
    settings.path("feedback_db").write_bytes(b"not a database " * 100)
    store = Store(settings)
    run_start(settings, store)
    assert path.exists()
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


# ---- the persistence -------------------------------------------------------------------------------------------

class Recorder(Store):
    """A store that notes which thread each chat-memory write ran on."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.writes: list[tuple[int, str]] = []

    def save_memory(self, chat_id: int, data: str) -> None:
        self.writes.append((chat_id, threading.current_thread().name))
        super().save_memory(chat_id, data)


def test_each_changed_chat_is_one_write_off_the_event_loop(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = Recorder(settings)
    persistence = StorePersistence(store, settings)

    async def serve() -> str:
        await persistence.get_chat_data()
        chats: dict[int, dict[Any, Any]] = {chat: {} for chat in range(1, 101)}
        for chat, data in chats.items():  # every chat had an update, as the Application marks them
            await persistence.refresh_chat_data(chat, data)
        chats[7]["last_question"] = {"question": "城市书房有多少家"}
        chats[8].update(MEMORY)
        for chat, data in chats.items():
            await persistence.update_chat_data(chat, data)
        for chat, data in chats.items():  # the next flush: nothing changed
            await persistence.update_chat_data(chat, data)
        return threading.current_thread().name

    loop_thread = asyncio.run(serve())
    assert sorted(chat for chat, _ in store.writes) == [7, 8]  # one row each, no rewrite of the others
    assert all(thread != loop_thread for _, thread in store.writes)
    assert decode_memory(store.load_memory(8) or "") == MEMORY
    store.close()


def test_two_replicas_see_each_others_memory(store_settings: StoreSettings, tmp_path: Path) -> None:
    settings = store_settings(conversation_store=str(tmp_path / "none.pickle"))
    first_store, second_store = Store(settings), Store(settings)
    first, second = StorePersistence(first_store, settings), StorePersistence(second_store, settings)

    async def exchange() -> None:
        await first.get_chat_data()
        await second.get_chat_data()
        on_first: dict[Any, Any] = {}
        on_second: dict[Any, Any] = {}
        await first.refresh_chat_data(USER, on_first)
        on_first.update(MEMORY)
        await first.update_chat_data(USER, on_first)
        await second.refresh_chat_data(USER, on_second)  # the follow-up lands on the other replica
        assert on_second == MEMORY
        on_second["last_question"] = {"question": "藏书有多少册"}
        await second.update_chat_data(USER, on_second)
        await first.refresh_chat_data(USER, on_first)
        assert on_first["last_question"] == {"question": "藏书有多少册"} and on_first["why_prompts"] == {1201: 77,
                                                                                                     1202: 78}
        on_first["local"] = 1  # not written yet: a refresh with nothing new from the store keeps it
        await first.refresh_chat_data(USER, on_first)
        assert on_first["local"] == 1

    asyncio.run(exchange())
    first_store.close()
    second_store.close()


def test_a_broken_store_never_stops_the_bot_and_is_logged_once(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, store_retry_seconds=1)
    settings.path("feedback_db").parent.mkdir(parents=True)
    settings.path("feedback_db").write_bytes(b"not a database " * 100)
    now = [0.0]
    store = Store(settings)
    persistence = StorePersistence(store, settings, clock=lambda: now[0])

    async def serve() -> dict[Any, Any]:
        assert await persistence.get_chat_data() == {}
        chat: dict[Any, Any] = {}
        for step in range(20):
            now[0] += 0.3  # the store is tried again every second, and fails again
            await persistence.refresh_chat_data(USER, chat)
            chat["n"] = step
            await persistence.update_chat_data(USER, chat)
        return chat

    assert asyncio.run(serve())["n"] == 19  # memory kept in the process
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "in this process only" in errors[0].getMessage()
    settings.path("feedback_db").unlink()  # repaired: the next try works, and says so
    store.close()
    now[0] += 5
    caplog.set_level(logging.INFO)
    asyncio.run(persistence.update_chat_data(USER, {"n": 20}))
    assert "works again" in caplog.text and decode_memory(store.load_memory(USER) or "") == {"n": 20}
    store.close()


def test_the_bot_keeps_chat_memory_in_the_store_not_in_a_pickle(tmp_path: Path, fake_engine: Any) -> None:
    from bot.telegram.wiring import build_bot

    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": "123456:TEST-token"}).replace(
        feedback_db=str(tmp_path / "feedback.sqlite3"), conversation_store=str(tmp_path / "conversations.pickle"),
        knowledge_dir=str(Path(__file__).parents[2] / "knowledge"))
    store = Store(settings)
    application = build_bot(settings, fake_engine, store=store).application
    assert isinstance(application.persistence, StorePersistence)
    assert application.persistence.store_data == PersistenceInput(bot_data=False, user_data=False,
                                                                   chat_data=True, callback_data=False)
    assert build_bot(settings.replace(conversation_store=""), fake_engine, store=store).application.persistence is None
    store.close()
