"""A fake Telegram Bot API server, so the bot can be tested end to end without reaching Telegram.

Telegram is unreachable from the test machines, so tests and ``python -m devtools bench`` start
``FakeBotAPI`` on 127.0.0.1 and point the real python-telegram-bot client at it through
``base_url``. The fake speaks the Bot API wire format (``POST /bot<token>/<method>``,
Telegram-shaped JSON answers), validates what Telegram would reject in a bot's replies (bad
HTML, over-long text, oversized callback data, edits of unknown or unchanged messages, malformed
inline results and start parameters), lets tests enqueue realistic incoming updates (messages,
button presses, inline queries, start links), records every call, and can inject one-shot faults
(5xx, flood control, slow answers, dropped connections, non-JSON bodies) to exercise the bot's
retry paths, or an outage (every request dropped for some seconds). It also runs webhook mode as
Telegram does (``webhook``).

Standard library only; one lock guards all state, so it is safe under the many concurrent
connections of the benchmark.

One module a concern: ``api`` composes ``FakeBotAPI`` (lifecycle, the path of one request) from the
mixins ``updates`` (incoming updates a test enqueues), ``calls`` (the call log and waiting on it),
``faults`` (injected faults, outages), ``webhook`` (delivery to a webhook) and ``methods`` (the Bot API
methods), which all work on ``state`` (the shared state and its lock). Beneath them: ``wire`` (HTTP,
Telegram-shaped answers), ``records`` (``Fault``, ``Call``, ``Delivery``), ``telegram_html`` (Telegram's
HTML subset) and ``limits`` (what Telegram accepts).
"""

from .api import FakeBotAPI
from .limits import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_INLINE_QUERY_LENGTH,
    MAX_INLINE_RESULT_ID_BYTES,
    MAX_INLINE_RESULTS,
    MAX_MESSAGE_LENGTH,
    MAX_START_PARAMETER,
    JSONDict,
)
from .records import ANY_METHOD, Call, Delivery, Fault
from .telegram_html import HTMLParseError, parse_telegram_html, utf16_len
from .updates import DEFAULT_GROUP_ID

__all__ = [
    "ANY_METHOD",
    "DEFAULT_GROUP_ID",
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_INLINE_QUERY_LENGTH",
    "MAX_INLINE_RESULTS",
    "MAX_INLINE_RESULT_ID_BYTES",
    "MAX_MESSAGE_LENGTH",
    "MAX_START_PARAMETER",
    "Call",
    "Delivery",
    "FakeBotAPI",
    "Fault",
    "HTMLParseError",
    "JSONDict",
    "parse_telegram_html",
    "utf16_len",
]
