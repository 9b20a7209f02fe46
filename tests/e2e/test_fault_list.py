"""The rest of issue 19's list, through the real bot and the fake Bot API: an answer held up by an outage
goes out once the API is back; a question dropped by the update limit is never dropped without a word; a
lone surrogate in a message is repaired, never a traceback; a normal SIGTERM exits 0 whatever the store."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.serve import serve
from devtools.fakeapi import FakeBotAPI
from tests.helpers import USER, RunningBot, ask, bot_settings, buttons, exchange, plain, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def test_an_answer_held_up_by_an_eight_second_outage_goes_out_when_the_api_is_back(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture) -> None:
    """The API goes down for 8 s as the question is fetched: before, three retries in 3.5 s and the answer
    was lost."""
    caplog.set_level(logging.INFO)
    running = start(telegram_retry_delay=0.5)
    api.outage(8.0, when_fetched=True)
    fetched = time.monotonic()
    [reply] = exchange(api, lambda: api.send_text("城市书房有多少家", user_id=USER), timeout=30)
    waited = time.monotonic() - fetched
    assert "超110家" in plain(reply) and 8.0 <= waited <= 8.0 + 2.0 + 3.0  # at most a retry's wait after the outage
    assert len(api.sent_messages(USER)) == 1 and running.bot.stats.errors == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "sendMessage" in r.getMessage()]
    assert len(warnings) == 1  # one line for the outage, not one per retry
    wait_until(lambda: any("sendMessage went out after" in r.getMessage() for r in caplog.records),
               "the recovery to be logged")


def test_with_the_question_limit_off_the_update_limit_names_itself(api: FakeBotAPI,
                                                                   start: Callable[..., RunningBot]) -> None:
    """rate_limit_per_minute: 0 and the 31st question of a minute: before, dropped without a word."""
    start(rate_limit_per_minute=0, update_rate_limit_per_minute=30)
    replies = exchange(api, lambda: [api.send_text(f"城市书房有多少家{'？' * (n % 3)}", user_id=USER)
                                     for n in range(31)], n=31, timeout=60)
    told = [plain(r) for r in replies if "超110家" not in plain(r)]
    assert len(told) == 1 and "每分钟最多 30 条" in told[0] and "秒后再发" in told[0]
    api.send_text("城市书房有多少家", user_id=USER)  # still over it: dropped silently now, told once a window
    [other] = ask(api, "城市书房有多少家", user_id=USER + 1)
    assert "超110家" in plain(other) and len(api.sent_messages(USER)) == 31


def test_a_lone_surrogate_is_replaced_everywhere_user_text_goes(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    caplog.set_level(logging.DEBUG)
    running = start()
    [reply] = ask(api, "城市书房有多少家\ud800", user_id=USER)
    [thanks] = ask(api, "/feedback 很好\udfff", user_id=USER)
    assert "超110家" in plain(reply) and "记下" in plain(thanks)
    [answered] = [m for m in api.sent_messages(USER) if m.get("reply_markup")]
    exchange(api, lambda: api.send_callback(buttons(answered)[1][1], user_id=USER, message=answered))
    prompt = api.sent_messages(USER)[-1]
    wait_until(lambda: running.store is not None and running.store.prompted_question(
        USER, prompt["message_id"]) is not None, "the prompt to be remembered")
    [noted] = ask(api, "不对\ud83d", user_id=USER, reply_to_message=prompt)
    assert "记下" in plain(noted) and running.bot.stats.errors == 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    report = running.store.report() if running.store is not None else {}
    assert report["downvoted"][0]["question"] == "城市书房有多少家\ufffd"
    assert report["downvoted"][0]["reasons"] == [{"reason": "", "text": "不对\ufffd"}]
    assert report["comments"][0]["text"] == "很好\ufffd"
    settings = running.bot.settings
    assert main(["--set", f"feedback_db={settings.path('feedback_db')}", "report"]) == 0  # the report prints it
    assert "城市书房有多少家\ufffd" in capsys.readouterr().out


def test_sigterm_exits_0_when_the_store_cannot_be_written(api: FakeBotAPI, tmp_path: Path, index_dir: Path,
                                                          engine: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Before (the pickle file): a traceback at every flush and exit code 1 on SIGTERM."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    settings = bot_settings(api, tmp_path, index_dir, feedback_db=str(blocker / "feedback.sqlite3"),
                            conversation_flush_seconds=0.2)

    def user_then_sigterm() -> None:
        for n in range(3):
            api.send_text("城市书房有多少家", user_id=USER)
            api.wait_for("sendMessage", count=n + 1, timeout=30)
            time.sleep(0.5)  # a few flushes of changed chats
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=user_then_sigterm, daemon=True)
    watchdog = threading.Timer(90, lambda: os.kill(os.getpid(), signal.SIGINT))  # stops serve if it hangs
    driver.start()
    watchdog.start()
    try:
        code = serve(settings, engine)
    finally:
        watchdog.cancel()
    assert code == 0
    assert all("超110家" in plain(m) for m in [c.params for c in api.calls("sendMessage") if c.ok])
    memory_lines = [r for r in caplog.records
                    if r.getMessage().startswith("chat memory:") and r.levelno >= logging.ERROR]
    assert len(memory_lines) == 1  # once, not once per flush
    assert len([r for r in caplog.records if r.exc_info]) <= 1  # at most the store's first failure, in full
