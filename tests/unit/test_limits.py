"""Per-user limits: a flood from one user is cut off and told once, other users are never slowed."""

from __future__ import annotations

import asyncio
import datetime as dtm
from typing import Any

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import ApplicationHandlerStop

from bot.config import load_settings
from bot.store import RateLimiter
from bot.telegram.base import BotCore, UserState
from bot.telegram.limits import UpdateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def check(limiter: RateLimiter, user: int) -> tuple[bool, bool, float]:
    decision = limiter.check(user)
    return decision.allowed, decision.tell, decision.wait


def test_over_the_limit_a_user_is_told_once_per_window_with_the_wait() -> None:
    clock = Clock()
    limiter = RateLimiter("questions", 3, window=60, clock=clock)
    assert [check(limiter, 1) for _ in range(3)] == [(True, False, 0.0)] * 3
    clock.now = 15
    assert check(limiter, 1) == (False, True, 45.0)  # until the first of the three leaves the window
    clock.now = 30
    assert check(limiter, 1)[:2] == (False, False)  # told already: dropped silently
    clock.now = 60
    assert all(limiter.check(1).allowed for _ in range(3))  # the first three left the window
    clock.now = 75
    assert check(limiter, 1) == (False, True, 45.0)  # told again: a window has passed since the notice


def test_users_are_limited_apart() -> None:
    limiter = RateLimiter("questions", 1, clock=Clock())
    assert limiter.check(1).allowed and not limiter.check(1).allowed
    assert limiter.check(2).allowed


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter("questions", 0)
    assert all(check(limiter, 1) == (True, False, 0.0) for _ in range(10_000))


def test_users_gone_quiet_are_forgotten() -> None:
    """A bot running for months sees many users once: their windows must not pile up."""
    clock = Clock()
    limiter = RateLimiter("questions", 1, clock=clock)
    for user in range(999):
        limiter.check(user)
        limiter.check(user)  # over the limit: told
    clock.now = 120
    assert limiter.check(5000).allowed and limiter.check(5001).allowed  # the 2,000th check sweeps out the quiet
    assert set(limiter._windows) == {5000, 5001}


def update_from(user_id: int | None) -> Update:
    chat = Chat(user_id or 1, Chat.PRIVATE)
    user = User(user_id, "用户", False) if user_id is not None else None
    return Update(1, message=Message(1, dtm.datetime.now(dtm.UTC), chat, from_user=user, text="/help"))


class Recorder:
    """What the guard needs of a context: a bot that records what it sends."""

    def __init__(self) -> None:
        self.user_data = UserState()
        self.sent: list[tuple[int, str]] = []
        self.bot = self

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> None:
        self.sent.append((chat_id, text))


def test_the_update_guard_stops_a_users_updates_over_the_limit_and_says_which_limit(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    core = BotCore(load_settings(environ={}).replace(update_rate_limit_per_minute=2, rate_limit_per_minute=0),
                   engine=None, store=None, examples=[])  # type: ignore[arg-type]
    guard = UpdateLimit(core)
    context: Any = Recorder()

    def run(user_id: int | None) -> bool:
        """True when the update goes on to the handlers."""
        try:
            asyncio.run(guard.guard(update_from(user_id), context))
        except ApplicationHandlerStop:
            return False
        return True

    assert [run(7), run(7), run(7), run(7)] == [True, True, False, False]
    assert run(8) and run(None)  # another user, and an update without one (a channel post) go on
    [(chat, told)] = context.sent  # told once, naming the limit
    assert chat == 7 and "每分钟最多 2 条" in told and "秒后再发" in told
    [line] = [r.getMessage() for r in caplog.records if "update limit" in r.getMessage()]
    assert "update_rate_limit_per_minute (2)" in line and f"user {core.hash_user(7)} " in line  # by hash
    core.shutdown()
