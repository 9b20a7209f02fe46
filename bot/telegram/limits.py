"""Per-user limits, so one user's flood never slows the others.

Two windows: questions (setting rate_limit_per_minute; the user is told once when over it) and every
update of any kind, commands, button presses and inline queries included (setting
update_rate_limit_per_minute): over that one, updates are dropped before any handler runs, so a flood of
/help or button taps costs neither answers nor Bot API requests that other users' replies wait behind.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackContext, TypeHandler

log = logging.getLogger(__name__)


class SlidingWindowLimiter:
    """At most ``limit`` events (questions, or updates) per user in any ``window`` seconds (0 turns it off).
    Over the limit, the user is told once per window; further events are dropped silently, so a flood gets
    one reply."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}
        self._checks = 0

    def check(self, user_id: int) -> tuple[bool, bool, float]:
        """(allowed, tell the user, seconds until a question is allowed again)."""
        if self.limit <= 0:
            return True, False, 0.0
        now = self.clock()
        self._checks += 1
        if self._checks % 1000 == 0:
            self._sweep(now)
        times = self._times.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return True, False, 0.0
        wait = self.window - (now - times[0])
        told = self._told.get(user_id)
        tell = told is None or now - told >= self.window
        if tell:
            self._told[user_id] = now
        return False, tell, wait

    def _sweep(self, now: float) -> None:
        for user_id in [u for u, t in self._times.items() if not t or now - t[-1] >= self.window]:
            del self._times[user_id]
        for user_id in [u for u, t in self._told.items() if now - t >= self.window]:
            del self._told[user_id]


def update_guard(limiter: SlidingWindowLimiter,
                 describe_user: Callable[[int], str]) -> TypeHandler[Update, Any, None]:
    """A handler for a group before all others that drops a user's updates over ``limiter``'s limit."""

    async def guard(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        user = update.effective_user
        if user is None:
            return
        allowed, first, _ = limiter.check(user.id)
        if allowed:
            return
        if first:  # once per window, not once per dropped update
            log.info("update limit: user %s sent too many updates; dropping them for a while", describe_user(user.id))
        raise ApplicationHandlerStop

    return TypeHandler(Update, guard)
