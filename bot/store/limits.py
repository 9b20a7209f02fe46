"""Per-user rate limits that several processes share: each user's sliding window is a row of the store.

The rule is the one of ``bot.telegram.limits.SlidingWindowLimiter`` (at most ``limit`` events in any ``window``
seconds; over it, the user is told once per window and further events are dropped silently), decided by
``decide`` on the window read from the store inside a transaction that locks the user's row, so two replicas
checking the same user at once count both events. Times are wall-clock seconds (processes on different
machines share no monotonic clock).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import FeedbackStoreError

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """One check's outcome and the window to store: allowed, tell the user, seconds until allowed again."""

    allowed: bool
    tell: bool
    wait: float
    times: list[float]
    told_at: float | None
    expires_at: float  # after this the window holds nothing worth keeping


def decide(times: list[float], told_at: float | None, now: float, limit: int, window: float) -> Decision:
    """Count an event at ``now`` against the user's earlier event ``times`` (oldest first)."""
    recent = [t for t in times if now - t < window]
    if len(recent) < limit:
        recent.append(now)
        return Decision(True, False, 0.0, recent, told_at, now + window)
    if told_at is None or now - told_at >= window:  # told once per window
        told_at, tell = now, True
    else:
        tell = False
    return Decision(False, tell, window - (now - recent[0]), recent, told_at, max(recent[-1], told_at) + window)


class SharedLimiter:
    """``check(user_id)`` like SlidingWindowLimiter's, counted in the store under ``scope``.

    The store never stops an answer: when it fails, the event is allowed (the limit is off until the store
    works again), logged once per outage.
    """

    def __init__(self, store: Store, scope: str, limit: int, window: float = 60.0) -> None:
        self.store = store
        self.scope = scope
        self.limit = limit
        self.window = window
        self._failing = False

    def check(self, user_id: int) -> tuple[bool, bool, float]:
        """(allowed, tell the user, seconds until an event is allowed again)."""
        if self.limit <= 0:
            return True, False, 0.0
        try:
            decision = self.store.rate_check(self.scope, user_id, self.limit, self.window)
        except FeedbackStoreError as exc:
            if not self._failing:
                log.error("rate limit %s: %s; not limiting until the store works again", self.scope, exc)
            self._failing = True
            return True, False, 0.0
        if self._failing:
            log.info("rate limit %s: the store works again", self.scope)
            self._failing = False
        return decision.allowed, decision.tell, decision.wait
