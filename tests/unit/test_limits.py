"""Per-user limits: a flood from one user is cut off and told once, other users are never slowed."""

from __future__ import annotations

import asyncio
import datetime as dtm
from typing import Any

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import ApplicationHandlerStop

from bot.telegram.limits import SlidingWindowLimiter, update_guard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_over_the_limit_a_user_is_told_once_per_window_with_the_wait() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(3, window=60, clock=clock)
    assert [limiter.check(1) for _ in range(3)] == [(True, False, 0.0)] * 3
    clock.now = 15
    assert limiter.check(1) == (False, True, 45.0)  # until the first of the three leaves the window
    clock.now = 30
    assert limiter.check(1)[:2] == (False, False)  # told already: dropped silently
    clock.now = 60
    assert all(limiter.check(1)[0] for _ in range(3))  # the first three left the window
    clock.now = 75
    assert limiter.check(1) == (False, True, 45.0)  # told again: a window has passed since the notice


def test_users_are_limited_apart() -> None:
    limiter = SlidingWindowLimiter(1, clock=Clock())
    assert limiter.check(1)[0] and not limiter.check(1)[0]
    assert limiter.check(2)[0]


def test_zero_turns_the_limit_off() -> None:
    limiter = SlidingWindowLimiter(0)
    assert all(limiter.check(1) == (True, False, 0.0) for _ in range(10_000))


def test_users_gone_quiet_are_forgotten() -> None:
    """A bot running for months sees many users once: their windows must not pile up."""
    clock = Clock()
    limiter = SlidingWindowLimiter(1, clock=clock)
    for user in range(999):
        limiter.check(user)
        limiter.check(user)  # over the limit: told
    clock.now = 120
    assert limiter.check(5000)[0] and limiter.check(5001)[0]  # the 2,000th check sweeps out the quiet ones
    assert set(limiter._times) == {5000, 5001} and limiter._told == {}


def update_from(user_id: int | None) -> Update:
    chat = Chat(user_id or 1, Chat.PRIVATE)
    user = User(user_id, "用户", False) if user_id is not None else None
    return Update(1, message=Message(1, dtm.datetime.now(dtm.UTC), chat, from_user=user, text="/help"))


def test_the_update_guard_stops_a_users_updates_over_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    described: list[int] = []
    guard = update_guard(SlidingWindowLimiter(2, clock=Clock()), lambda user: described.append(user) or "hashed")
    context: Any = None

    def run(user_id: int | None) -> bool:
        """True when the update goes on to the handlers."""
        try:
            asyncio.run(guard.callback(update_from(user_id), context))
        except ApplicationHandlerStop:
            return False
        return True

    assert [run(7), run(7), run(7), run(7)] == [True, True, False, False]
    assert run(8) and run(None)  # another user, and an update without one (a channel post) go on
    assert described == [7] and "update limit: user hashed" in caplog.text  # logged once, by hash
