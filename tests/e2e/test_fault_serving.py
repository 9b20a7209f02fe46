"""Fault matrix, serving side: the real Application against the fake Bot API, probed as an attacker or a
broken network would. A broken feedback store never costs an answer; a rejected token ends `serve` with a
non-zero exit (so a supervisor restarts it) and stops its heartbeat; one user's flood of commands and
buttons is capped; callback data is bounded, validated and bound to the chat the answer went to; a
transient Bot API answer that is not a JSON object is retried."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot import heartbeat
from bot.telegram.serve import serve
from devtools.fakeapi import FakeBotAPI, Fault
from tests.helpers import USER, RunningBot, ask, bot_settings, buttons, exchange, ok_count, plain, wait_until

OTHER = 88123001  # a second user, in a chat of their own

pytestmark = [pytest.mark.slow,  # the fault matrix: left out of `make quick`
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def test_a_damaged_salt_file_never_stops_an_answer(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                   tmp_path: Path) -> None:
    salt = tmp_path / "data" / "feedback.sqlite3.salt"
    salt.parent.mkdir(parents=True)
    salt.write_bytes(b"\xfe" + b"0" * 63 + b"\n")  # one odd byte
    running = start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    assert "超110家" in plain(reply) and "出了点问题" not in plain(reply)
    assert running.bot.stats.errors == 0


def test_a_rejected_token_ends_serve_with_a_non_zero_exit(api: FakeBotAPI, tmp_path: Path, index_dir: Path,
                                                          engine, caplog: pytest.LogCaptureFixture) -> None:
    """A single 401 on getUpdates: before, polling ended and the process lived on without ever polling."""
    from bot.store import Store

    settings = bot_settings(api, tmp_path, index_dir, telegram_send_retries=0,
                            heartbeat_file=str(tmp_path / "data" / "heartbeat"))
    api.inject("getUpdates", Fault.server_error(401))
    watchdog = threading.Timer(30, lambda: os.kill(os.getpid(), signal.SIGINT))  # stops serve if it hangs
    watchdog.start()
    store = Store(settings)
    started = time.monotonic()
    try:
        code = serve(settings, engine, store)
    finally:
        watchdog.cancel()
        store.close()
    assert code == 1 and time.monotonic() - started < 25
    assert any("token" in r.getMessage() and r.levelno >= logging.ERROR for r in caplog.records)
    assert heartbeat.problem(settings.path("heartbeat_file"), 60) is not None  # no polling, no heartbeat


def test_serve_keeps_a_fresh_heartbeat_while_it_polls(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                      tmp_path: Path) -> None:
    beat = tmp_path / "data" / "heartbeat"
    running = start(heartbeat_file=str(beat))
    running.liveness.heartbeat_file = beat  # as serve does (a bot started by a test or the benchmark leaves none)
    wait_until(lambda: beat.exists(), "the first heartbeat")
    assert heartbeat.problem(beat, 60) is None


def test_one_users_flood_of_commands_and_buttons_is_capped(api: FakeBotAPI, start: Callable[..., RunningBot]
                                                           ) -> None:
    running = start(update_rate_limit_per_minute=10)
    [topics] = exchange(api, lambda: api.send_text("/topics", user_id=USER))
    topic = buttons(topics)[3][1]
    for _ in range(60):
        api.send_text("/help", user_id=USER)
        api.send_callback(topic, user_id=USER, message=api.sent_messages(USER)[0])
    api.send_text("大病保险报销比例提高到了多少？", user_id=OTHER)  # another user is served meanwhile
    wait_until(lambda: api.sent_messages(OTHER), "the other user's answer", timeout=15)
    assert "80%" in plain(api.sent_messages(OTHER)[0])
    time.sleep(0.5)
    assert len(api.sent_messages(USER)) <= 10 + 1  # the limit (and the /topics reply before the flood)
    assert running.bot.stats.errors == 0


def test_a_section_id_too_long_for_a_button_still_gives_working_topic_buttons(
        api: FakeBotAPI, start: Callable[..., RunningBot], engine) -> None:
    original = engine.index.content
    section = replace(original.sections[3], id="样本" * 20 + "-" + original.sections[3].id)  # 120+ UTF-8 bytes:
    renamed = (*original.sections[:3], section, *original.sections[4:])  # over Telegram's 64 for callback data
    engine.index.content = replace(original, sections=renamed)
    try:
        start()
        [topics] = exchange(api, lambda: api.send_text("/topics", user_id=USER))
        data = [d for _, d in buttons(topics)]
        assert all(len(d.encode("utf-8")) <= 64 for d in data)
        sections = [d for d in data if d.startswith(("t:", "t#"))]  # (article headers turn pages)
        assert len(set(sections)) == len(sections)
        [card] = exchange(api, lambda: api.send_callback(sections[3], user_id=USER,
                                                         message=api.sent_messages(USER)[-1]))
        assert section.heading[:4] in plain(card)
    finally:
        engine.index.content = original


def _feedback_buttons(api: FakeBotAPI, user: int) -> tuple[dict, str, str]:
    [reply] = ask(api, "城市书房有多少家", user_id=user)
    (_, up), (_, down) = buttons(reply)
    return api.sent_messages(user)[-1], up, down


@pytest.mark.parametrize("forged", ["overflow", "unknown id", "untagged", "other chat", "too long", "garbage"])
def test_a_forged_or_misplaced_vote_is_refused_without_an_error(
        api: FakeBotAPI, start: Callable[..., RunningBot], forged: str) -> None:
    running = start()
    message, up, _ = _feedback_buttons(api, USER)
    question_id = up.split(":")[2]
    data = {"overflow": "fb:+:99999999999999999999999",
            "unknown id": up.replace(f":{question_id}:", ":987654:"),
            "untagged": f"fb:+:{question_id}",
            "other chat": up,
            "too long": up + "x" * 80,
            "garbage": "fb:+:-1:AAAAAAAA"}[forged]
    if forged == "other chat":  # another user presses a copy of the button in their own chat
        ask(api, "瑞安金融专员发放的专项贷款有多少", user_id=OTHER)
        message, user = api.sent_messages(OTHER)[-1], OTHER
    else:
        user = USER
    exchange(api, lambda: api.send_callback(data, user_id=user, message=message), method="answerCallbackQuery")
    assert "谢谢" not in (api.calls("answerCallbackQuery")[-1].params.get("text") or "")
    assert running.store.totals()["up"] == 0
    assert running.bot.stats.errors == 0
    # the genuine button still counts
    own = api.sent_messages(USER)[0]
    exchange(api, lambda: api.send_callback(up, user_id=USER, message=own), method="answerCallbackQuery")
    assert "谢谢" in api.calls("answerCallbackQuery")[-1].params["text"]
    assert running.store.totals()["up"] == 1


@pytest.mark.parametrize("body", [b'"Bad Gateway"', b"[1, 2]", b"null", b"42"])
def test_a_transient_answer_that_is_no_json_object_is_retried(
        api: FakeBotAPI, start: Callable[..., RunningBot], body: bytes) -> None:
    running = start(rate_limit_per_minute=0)
    api.inject("sendMessage", Fault.raw(502, body))
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    assert "超110家" in plain(reply) and ok_count(api, "sendMessage") == 1
    assert running.bot.stats.errors == 0


def test_a_webhook_server_keeps_a_fresh_heartbeat_while_it_listens(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path, index_dir: Path) -> None:
    import socket

    from bot.telegram.wiring import webhook_options

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    beat = tmp_path / "data" / "heartbeat"
    changes = dict(telegram_mode="webhook", webhook_url="https://bot.example.org/telegram/hook",
                   webhook_listen="127.0.0.1", webhook_port=port, webhook_secret="s3cret_webhook",
                   heartbeat_file=str(beat), heartbeat_max_age=20)  # a beat every 5 s
    running = start(webhook=webhook_options(bot_settings(api, tmp_path, index_dir, **changes)), **changes)
    running.liveness.heartbeat_file = beat  # as serve does
    wait_until(lambda: beat.exists(), "the webhook server's first heartbeat", timeout=10)
    assert heartbeat.problem(beat, 60) is None and "listening" in beat.read_text(encoding="utf-8")
