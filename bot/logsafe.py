"""Keep secrets out of logs and error messages: the bot token, the webhook secret, the user-id salt.

The Bot API puts the token in every URL (``…/bot<token>/sendMessage``); httpx logs those URLs at INFO and
python-telegram-bot repeats the token in ``InvalidToken`` messages. ``install_redaction`` puts a filter on
the root logger's handlers that rewrites each record's message and traceback text, and quiets httpx;
``redact`` is for text printed outside logging (the errors ``serve`` prints).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from urllib.parse import quote

from .config import SETTINGS, Settings

REDACTED = "[REDACTED]"

# A Bot API token in a URL, whichever token it is: "bot123456:AAE-x_y/" → "bot[REDACTED]/".
_TOKEN_IN_URL = re.compile(r"bot\d+(?::|%3A)[A-Za-z0-9_-]+", re.IGNORECASE)
# Loggers that write request URLs (and so tokens) at INFO or below.
_NOISY_LOGGERS = ("httpx", "httpcore")


def secrets_of(settings: Settings) -> list[str]:
    """The values of every setting marked secret (the token, the webhook secret, the salt)."""
    return [str(getattr(settings, name)) for name, setting in SETTINGS.items()
            if setting.secret and getattr(settings, name)]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret (also URL-encoded) and any token inside a Bot API URL replaced."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, REDACTED)
    return _TOKEN_IN_URL.sub("bot" + REDACTED, text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites a record's message, arguments and traceback without secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("redact")
        self.secrets: set[str] = {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can, never drop the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install_redaction(secrets: Iterable[str], logger: logging.Logger | None = None) -> RedactingFilter:
    """Add (or extend) the redacting filter on every handler of ``logger`` (default: root); quiet httpx.

    Call it after logging is configured: handlers added later are not covered. Idempotent.
    """
    logger = logger or logging.getLogger()
    secrets = [s for s in secrets if s]
    found: RedactingFilter | None = None
    for handler in logger.handlers:
        existing = next((f for f in handler.filters if isinstance(f, RedactingFilter)), None)
        if existing is None:
            existing = found or RedactingFilter()
            handler.addFilter(existing)
        existing.secrets.update(secrets)
        found = found or existing
    for name in _NOISY_LOGGERS:
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    return found or RedactingFilter(secrets)
