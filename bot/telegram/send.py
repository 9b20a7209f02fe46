"""Talking to the Bot API reliably: retries with back-off around every request, logged polling failures.

Network errors, timeouts, 5xx, malformed answers and flood control (429) are retried until the request goes
out or telegram_send_deadline seconds have passed since its first try (the API down for a while costs a late
answer, not a lost one); waits start at telegram_retry_delay and double up to telegram_retry_max_delay, a
429's retry_after is waited instead. Requests Telegram refused are not retried, nor is the typing indicator
(a late one is worse than none). An answer whose body is JSON but not an object (a proxy's ``"Bad
Gateway"``) counts as malformed, so it is retried too.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import logging
import time
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    BaseRateLimiter,
)
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

# ==============================================================================================
# Sending: retries with back-off around every Bot API request (getUpdates excepted)
# ==============================================================================================

# Errors a retry cannot fix: the request itself is wrong, or the bot may not write there.
_FINAL_ERRORS = (BadRequest, Forbidden, InvalidToken, Conflict, ChatMigrated, EndPointNotFound)
_TRIED_ONCE = frozenset({"sendChatAction"})  # the typing indicator: useless once late


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class RetryingRateLimiter(BaseRateLimiter[int]):
    """Every Bot API request but getUpdates passes here: optionally through PTB's AIORateLimiter (Telegram's
    limits, its own 429 retries), and retried on network errors, timeouts, 5xx answers, malformed answers
    and flood control until it goes out or ``deadline`` seconds have passed since its first try. A request
    that still fails raises to its caller (the handler's error is logged).

    Delivery is at least once. A request that timed out while waiting for Telegram's answer (a read
    timeout, setting telegram_read_timeout) may have been carried out all the same: its retry then shows
    the message twice, which is better than no answer to a question. Requests that fail before reaching
    Telegram (connection refused, connect or pool timeouts) and error answers (5xx, 429, a malformed
    body) had no effect, so their retries never duplicate anything. For answerCallbackQuery and
    editMessageReplyMarkup a duplicate is harmless: Telegram refuses it (BadRequest, caught by the bot).

    A request's first failure is one WARNING line; further failures of it are DEBUG lines (an outage of a
    minute is not a page of warnings), except a timeout that may show a message twice.
    """

    def __init__(self, deadline: float, delay: float, max_delay: float, inner: BaseRateLimiter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.deadline = max(0.0, float(deadline))
        self.delay = max(0.0, float(delay))
        self.max_delay = max(self.delay, float(max_delay))
        self.inner = inner
        self.clock = clock
        self.retried = 0  # retries made, for /stats and tests

    async def initialize(self) -> None:
        if self.inner is not None:
            await self.inner.initialize()

    async def shutdown(self) -> None:
        if self.inner is not None:
            await self.inner.shutdown()

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        started, attempt = self.clock(), 0
        if self.inner is not None:
            callback = _logging_floods(callback, endpoint)  # the inner limiter waits them out silently
        while True:
            try:
                if self.inner is not None:
                    result = await self.inner.process_request(callback, args, kwargs, endpoint, data,
                                                              rate_limit_args)
                else:
                    result = await callback(*args, **kwargs)
                if attempt:
                    log.info("Bot API %s went out after %d retries (%.1f s)", endpoint, attempt,
                             self.clock() - started)
                return result
            except _FINAL_ERRORS:
                raise
            except RetryAfter as exc:
                error: TelegramError = exc
                wait = _retry_after_seconds(exc) + 0.1
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                error, wait = exc, min(self.delay * 2 ** attempt, self.max_delay)
            except TelegramError as exc:
                if type(exc) is not TelegramError:  # plain: a malformed answer
                    raise
                error, wait = exc, min(self.delay * 2 ** attempt, self.max_delay)
            if endpoint in _TRIED_ONCE or self.clock() + wait - started > self.deadline:
                raise error
            attempt += 1
            self.retried += 1
            duplicate = endpoint.startswith("send") and _ambiguous(error)
            log.log(logging.WARNING if attempt == 1 or duplicate else logging.DEBUG,
                    "Bot API %s failed (%s%s); retry %d in %.1f s (retried for up to %g s: "
                    "telegram_send_deadline)", endpoint, describe_failure(error),
                    ", so this retry may show it twice" if duplicate else "", attempt, wait, self.deadline)
            await asyncio.sleep(wait)


def _ambiguous(error: BaseException) -> bool:
    """A timeout after the request was sent: Telegram may have carried it out without our hearing back."""
    return isinstance(error, TimedOut) and isinstance(error.__cause__, (httpx.ReadTimeout, httpx.WriteTimeout))


def describe_failure(error: TelegramError) -> str:
    """A log line's account of a failed Bot API request: the error, and for timeouts whether it was sent."""
    if isinstance(error, RetryAfter):
        return f"flood control (429), Telegram asks to wait {_retry_after_seconds(error):g} s"
    if isinstance(error, TimedOut):
        cause = type(error.__cause__).__name__ if error.__cause__ is not None else "TimedOut"
        if _ambiguous(error):
            return f"timed out waiting for Telegram's answer ({cause}; the request may have been carried out)"
        return f"timed out before the request was sent ({cause})"
    return f"{type(error).__name__}: {error}"


def _logging_floods(callback: Callable[..., Coroutine[Any, Any, Any]], endpoint: str
                    ) -> Callable[..., Coroutine[Any, Any, Any]]:
    """``callback`` logging each flood-control answer (429) before the inner limiter waits and retries."""
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            log.warning("Bot API %s failed (%s); waiting, then retrying", endpoint, describe_failure(exc))
            raise
    return call


class CheckedRequest(HTTPXRequest):
    """HTTPXRequest that takes only a JSON object for an answer: anything else (a JSON string, a list,
    null) is a malformed answer (TelegramError, retried) instead of an AttributeError deep in the library."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        data = HTTPXRequest.parse_json_payload(payload)
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response: not a JSON object")
        return data


class PollingRequest(CheckedRequest):
    """The connection getUpdates uses. python-telegram-bot's polling loop retries a timed-out getUpdates
    and waits out flood control (429) without telling the error handler (it logs them at debug level);
    this logs them as warnings, like the polling failures that do reach the error handler (``wiring``).

    It also reports to the bot: ``on_polled`` after each answered getUpdates (the heartbeat), and
    ``on_rejected`` when Telegram refuses the token (401/404), after which the library stops polling for
    good, so the bot must stop too."""

    def __init__(self, *args: Any, on_polled: Callable[[], None] | None = None,
                 on_rejected: Callable[[int], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_polled = on_polled
        self.on_rejected = on_rejected

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except TimedOut as exc:
            log.warning("polling for updates failed, retrying (getUpdates: %s)", describe_failure(exc))
            raise
        if code == HTTPStatus.OK and self.on_polled is not None:
            self.on_polled()
        if code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND) and self.on_rejected is not None:
            self.on_rejected(code)
        if code == HTTPStatus.TOO_MANY_REQUESTS:
            try:
                wait = json.loads(payload)["parameters"]["retry_after"]
            except (ValueError, KeyError, TypeError):
                wait = "?"
            log.warning("polling for updates failed, retrying (getUpdates: flood control (429), Telegram "
                        "asks to wait %s s)", wait)
        return code, payload
