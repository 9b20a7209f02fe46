"""Faults matrix: every kind of Bot API failure on each request the bot makes, against the real Application.

The fake server injects one fault (500, 429 with retry_after, a slow answer within the read timeout, a slow
answer past it, a dropped connection, a non-JSON body) on getUpdates, sendMessage, answerCallbackQuery or
editMessageReplyMarkup. Each case checks in the fake's record that the bot recovered, that every question
was answered exactly once and every button press acknowledged once, and that the bot logged the fault once.

The one documented exception: a sendMessage whose answer comes later than the read timeout
(setting telegram_read_timeout) is retried, and the fake, like Telegram, still carries out the first
request after its delay, so that answer is shown twice (at-least-once delivery: a duplicate rather than
a lost answer). Below the read timeout nothing is ever sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import pytest

from devtools.fakeapi import FakeBotAPI, Fault
from tests.helpers import RunningBot, ask, buttons, ok_count, wait_until

READ_TIMEOUT = 0.6  # telegram_read_timeout in these tests (the default is 10 s)
POLL_TIMEOUT = 0.2  # long-polling timeout: getUpdates times out after READ_TIMEOUT + POLL_TIMEOUT
SHORT = 0.2  # slow, but within the read timeout
LONG = 1.0  # past the read timeout of every request, getUpdates included
QUESTIONS = {3101: ("城市书房有多少家", "超110家"), 3102: ("瑞安金融专员发放的专项贷款有多少", "超30亿元"),
             3103: ("大病保险报销比例提高到了多少？", "80%")}
LATE_USER, LATE_QUESTION = 3104, ("世界青年科学家峰会举办了几届？", "3届")

FAULTS = {
    "500": Fault.server_error(500),
    "429": Fault.flood(retry_after=1),
    "slow": Fault.slow(SHORT),
    "timeout": Fault.slow(LONG),
    "drop": Fault.drop(),
    "malformed": Fault.malformed(),
}
# what the one log line about each fault says (besides the method's name)
FINGERPRINTS = {"500": "Internal Server Error", "429": "flood control", "timeout": "timed out",
                "drop": "RemoteProtocolError", "malformed": "Invalid server response"}
METHODS = ["getUpdates", "sendMessage", "answerCallbackQuery", "editMessageReplyMarkup"]

pytestmark = [pytest.mark.slow,  # seconds per test: left out of `make quick`
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def _start(start: Callable[..., RunningBot]) -> RunningBot:
    return start(telegram_read_timeout=READ_TIMEOUT, poll_timeout=POLL_TIMEOUT, rate_limit_per_minute=0)


def _wait_until_served(api: FakeBotAPI, method: str, kind: str) -> None:
    """The injected fault has been answered (a slow request is recorded only when its answer went out)."""
    api.wait_for(method, predicate=lambda c: c.fault is not None, ok_only=False, timeout=10)
    assert api.stats()["faults"] == {"slow" if kind in ("slow", "timeout") else FAULTS[kind].kind: 1}


def _fault_lines(caplog: pytest.LogCaptureFixture, method: str, kind: str) -> list[str]:
    """Warnings and errors of the bot's own loggers that name ``method`` and the fault."""
    names = (method, "polling") if method == "getUpdates" else (method,)
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("bot")
            and any(n in r.getMessage() for n in names)
            and FINGERPRINTS.get(kind, "\0").lower() in r.getMessage().lower()]


def _answers(api: FakeBotAPI, user: int) -> list[str]:
    return [m["text"] for m in api.sent_messages(user)]


@pytest.mark.parametrize("kind", list(FAULTS))
@pytest.mark.parametrize("method", METHODS)
def test_the_bot_recovers_from_each_fault_and_answers_exactly_once(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture,
        method: str, kind: str) -> None:
    caplog.set_level(logging.INFO)
    fault = FAULTS[kind]
    if method == "getUpdates":
        # questions already waiting, so the faulted getUpdates is the one that would have carried them
        api.inject(method, fault)
        for user, (question, _) in QUESTIONS.items():
            api.send_text(question, user_id=user)
        running = _start(start)
        api.wait_for("sendMessage", count=len(QUESTIONS), timeout=15)
    elif method == "sendMessage":
        running = _start(start)
        api.inject(method, fault)
        for user, (question, _) in QUESTIONS.items():
            api.send_text(question, user_id=user)
        duplicates = 1 if kind == "timeout" else 0  # the documented trade-off, see the module docstring
        api.wait_for("sendMessage", count=len(QUESTIONS) + duplicates, timeout=15)
    else:
        running = _start(start)
        user = next(iter(QUESTIONS))
        [reply] = ask(api, QUESTIONS[user][0], user_id=user)
        up = buttons(reply)[0][1]
        api.inject(method, fault)
        api.send_callback(up, user_id=user, message=api.sent_messages(user)[-1])
        api.wait_for("answerCallbackQuery", timeout=15)
        api.wait_for("editMessageReplyMarkup", timeout=15)
    _wait_until_served(api, method, kind)

    # still serving afterwards
    [late] = ask(api, LATE_QUESTION[0], user_id=LATE_USER)
    assert LATE_QUESTION[1] in late["text"]
    time.sleep(0.15)  # room for a stray second answer to show up

    # every question answered exactly once (the fake's record of delivered messages)
    if method in ("getUpdates", "sendMessage"):
        counts = {user: len(_answers(api, user)) for user in QUESTIONS}
        if method == "sendMessage" and kind == "timeout":
            assert sorted(counts.values()) == [1, 1, 2], counts
            [twice] = [user for user, n in counts.items() if n == 2]
            assert len(set(_answers(api, twice))) == 1  # the same answer, delivered by both attempts
        else:
            assert counts == {user: 1 for user in QUESTIONS}, counts
        for user, (_, figure) in QUESTIONS.items():
            assert all(figure in text for text in _answers(api, user))
    else:
        user = next(iter(QUESTIONS))
        assert len(_answers(api, user)) == 1
        assert ok_count(api, "answerCallbackQuery") == 1  # the press acknowledged once
        assert ok_count(api, "editMessageReplyMarkup") == 1  # the keyboard marked once
        assert [t for t, _ in buttons(api.sent_messages(user)[-1])][0].startswith("✅")
        assert running.store.totals()["up"] == 1
    assert len(_answers(api, LATE_USER)) == 1

    # nothing failed for good, and the fault was logged exactly once
    assert running.bot.stats.errors == 0
    assert not [r for r in caplog.records if "error while handling an update" in r.getMessage()]
    lines = _fault_lines(caplog, method, kind)
    if kind == "slow":  # a slow answer within the read timeout is no fault: not retried, not logged
        assert running.application.bot.rate_limiter.retried == 0
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    else:
        assert len(lines) == 1, [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]



def test_a_conflicting_poller_is_an_error_and_polling_resumes_when_it_goes(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture) -> None:
    """Telegram answers getUpdates with 409 Conflict while another process polls with the same token or a
    webhook is set: that needs the operator, so it is an error (not a retried warning), and the bot polls
    on once the other one is gone."""
    running = _start(start)
    api.wait_for("getUpdates", ok_only=True)
    webhook = httpx.post(f"{api.base_url}{api.token}/setWebhook", data={"url": "https://other.example.org/hook"})
    assert webhook.json()["ok"]
    api.wait_for("getUpdates", predicate=lambda c: c.status == 409, ok_only=False, timeout=10)
    wait_until(lambda: running.bot.stats.errors == 1, "the conflict to be counted as an error")
    wait_until(lambda: any("Another process is running this bot" in r.getMessage() for r in caplog.records),
               "the conflict to be logged")
    [conflict] = [r for r in caplog.records if "Another process is running this bot" in r.getMessage()]
    assert conflict.levelno == logging.ERROR
    httpx.post(f"{api.base_url}{api.token}/deleteWebhook")
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in reply["text"]
