"""Per-user rate limits: one rule (``decide``), counted in the store so several replicas count as one bot.

The rule: at most ``limit`` events per user in any ``window`` seconds; over it, the user is told once per
window and further events are dropped silently, so a flood gets one reply. ``RateLimiter`` keeps each
user's window as a row of the store, read and written inside a transaction that locks the row, so two
replicas checking the same user at once count both events. Times are wall-clock seconds (processes on
different machines share no monotonic clock).

Without a store, or while the store fails, the windows are kept in this process: limits go on, counted per
process. A failure is logged once, and the store is tried again after store_retry_seconds, so a server that
is down costs no wait per update.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import FeedbackStoreError

log = logging.getLogger(__name__)

_SWEEP_EVERY = 1000  # in-process checks between sweeps of the windows of users gone quiet


@dataclass(frozen=True)
class Decision:
    """One check's outcome and the window to keep: allowed, tell the user, seconds until allowed again."""

    allowed: bool
    tell: bool
    wait: float
    times: list[float]
    told_at: float | None
    expires_at: float  # after this the window holds nothing worth keeping


ALLOWED = Decision(True, False, 0.0, [], None, 0.0)  # what a limit that is off decides


def decide(times: list[float], told_at: float | None, now: float, limit: int, window: float) -> Decision:
    """Count an event at ``now`` against the user's earlier event ``times`` (oldest first): the one rule."""
    recent = [t for t in times if now - t < window]
    if len(recent) < limit:
        recent.append(now)
        return Decision(True, False, 0.0, recent, told_at, now + window)
    if told_at is None or now - told_at >= window:  # told once per window
        told_at, tell = now, True
    else:
        tell = False
    return Decision(False, tell, window - (now - recent[0]), recent, told_at, max(recent[-1], told_at) + window)


class WindowStore(Protocol):
    """Where the windows are counted when several replicas serve: the store (``Store.rate_check``)."""

    def rate_check(self, scope: str, user_id: int, limit: int, window: float) -> Decision: ...


class RateLimiter:
    """``check(user_id)``: at most ``limit`` events of ``scope`` ('questions', 'updates') per user in any
    ``window`` seconds (0 turns the limit off), counted in ``store`` when there is one (see the module's notes).

    ``check`` may wait for the store: call it off the event loop."""

    def __init__(self, scope: str, limit: int, store: WindowStore | None = None, window: float = 60.0,
                 retry_seconds: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.scope = scope
        self.limit = limit
        self.store = store
        self.window = window
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._windows: dict[int, Decision] = {}  # the in-process windows (no store, or while it fails)
        self._lock = threading.Lock()  # checks come from several threads
        self._checks = 0
        self._resting_until = 0.0  # after a store failure: in process until then
        self._failing = False

    def check(self, user_id: int) -> Decision:
        if self.limit <= 0:
            return ALLOWED
        if self.store is not None and self.clock() >= self._resting_until:
            try:
                decision = self.store.rate_check(self.scope, user_id, self.limit, self.window)
            except FeedbackStoreError as exc:
                self._resting_until = self.clock() + self.retry_seconds
                if not self._failing:
                    log.error("rate limit %s: %s; counting in this process until the store works again "
                              "(tried every %g s)", self.scope, exc, self.retry_seconds)
                self._failing = True
            else:
                if self._failing:
                    log.info("rate limit %s: the store works again", self.scope)
                    self._failing = False
                return decision
        return self._check_here(user_id)

    def _check_here(self, user_id: int) -> Decision:
        with self._lock:
            now = self.clock()
            self._checks += 1
            if self._checks % _SWEEP_EVERY == 0:
                self._windows = {user: kept for user, kept in self._windows.items() if kept.expires_at > now}
            kept = self._windows.get(user_id)
            decision = decide(kept.times if kept else [], kept.told_at if kept else None, now, self.limit,
                              self.window)
            self._windows[user_id] = decision
            return decision
