"""A fake Telegram Bot API server, so the bot can be tested end to end without reaching Telegram.

Telegram is unreachable from the test machines, so tests and ``python -m devtools bench`` start
``FakeBotAPI`` on 127.0.0.1 and point the real python-telegram-bot client at it through
``base_url``. The fake speaks the Bot API wire format (``POST /bot<token>/<method>``,
Telegram-shaped JSON answers), validates what Telegram would reject in a bot's replies (bad
HTML, over-long text, oversized callback data, edits of unknown or unchanged messages, malformed
inline results and start parameters), lets tests enqueue realistic incoming updates (messages,
button presses, inline queries, start links), records every call, and can inject one-shot faults
(5xx, flood control, slow answers, dropped connections, non-JSON bodies) to exercise the bot's
retry paths, or an outage (every request dropped for some seconds).

A request that hits an injected fault has no side effect, exactly as a retry expects: a failed
``sendMessage`` stored nothing, a failed ``getUpdates`` confirmed nothing.

Webhook mode as Telegram runs it: once ``setWebhook`` names a URL (and a test has said where that
URL's host is reachable, ``route_webhook``), each update is POSTed there with the secret token header,
up to ``max_connections`` at a time, oldest first; an update whose delivery fails (no connection, no
answer within the timeout, a status other than 2xx) stays pending and is delivered again after a pause
that doubles with each failure, until it is acknowledged. ``deliveries`` records every attempt.

Standard library only; one lock guards all state, so it is safe under the many concurrent
connections of the benchmark.
"""

from __future__ import annotations

import bisect
import copy
import http.client
import itertools
import json
import queue
import re
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

JSONDict = dict[str, Any]

ANY_METHOD = "*"
"""Pass to ``FakeBotAPI.inject`` to fault the next request whatever its method."""

DEFAULT_GROUP_ID = -1001234567890
"""Chat id the update helpers use for non-private chats when none is given."""

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_QUERY_LENGTH = 256
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_START_PARAMETER = 64

# Parameters Telegram types as strings. PTB form-encodes every value as text ("123" for both the
# int 123 and the string "123"), so only these stay strings; all others are JSON-decoded.
_STRING_PARAMS = frozenset({
    "text", "parse_mode", "caption", "callback_query_id", "inline_message_id", "url", "action",
    "language_code", "secret_token", "ip_address", "business_connection_id", "message_effect_id",
    "title", "description", "short_description", "name", "emoji", "inline_query_id", "next_offset",
})

_METHOD_NAMES = (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "sendMessage", "editMessageText",
    "editMessageReplyMarkup", "answerCallbackQuery", "answerInlineQuery", "sendChatAction", "close",
    "logOut",
)

_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})

# Inline keyboard buttons need exactly one of these; a bare text button is rejected by Telegram.
_INLINE_BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_START_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # deep-link payloads and inline buttons
_BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_MENTION_RE = re.compile(r"@[A-Za-z0-9_]{5,32}\b")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for text limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Telegram HTML
# --------------------------------------------------------------------------------------------

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}
_SUPPORTED_TAGS = frozenset(_SIMPLE_TAGS) | {"span", "a", "blockquote", "tg-emoji"}
_TAG_NAME_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_ATTR_RE = re.compile(
    r"""\s+([A-Za-z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
_TAG_END_RE = re.compile(r"\s*>")
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|(lt|gt|amp|quot));")
_UNKNOWN_ENTITY_RE = re.compile(r"&#?[A-Za-z0-9]+;")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HTMLParseError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"; the message says where."""


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8"))


def _decode_entity(html: str, index: int) -> tuple[str, int]:
    """Decode the HTML entity at ``index``; returns the character and the index after it."""
    match = _ENTITY_RE.match(html, index)
    if not match:
        if unknown := _UNKNOWN_ENTITY_RE.match(html, index):
            raise HTMLParseError(
                f'Unsupported HTML entity "{unknown[0]}" at byte offset {_byte_offset(html, index)}'
            )
        raise HTMLParseError(
            f'Character "&" is reserved and must be escaped as "&amp;" '
            f"(byte offset {_byte_offset(html, index)})"
        )
    decimal, hexadecimal, name = match.groups()
    if name:
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code == 0:
        raise HTMLParseError(
            f"Invalid numeric HTML entity at byte offset {_byte_offset(html, index)}"
        )
    return chr(code), match.end()


def _unescape_attribute(value: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "&":
            char, index = _decode_entity(value, index)
            out.append(char)
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    offset: int
    entity: JSONDict | None


def _entity_for_tag(name: str, attrs: dict[str, str], html: str, index: int) -> JSONDict | None:
    """The message entity a start tag opens (None for a link without href)."""
    where = f"byte offset {_byte_offset(html, index)}"
    if name in _SIMPLE_TAGS:
        entity: JSONDict = {"type": _SIMPLE_TAGS[name]}
        language = attrs.get("class", "")
        if name == "code" and language.startswith("language-"):
            entity["language"] = language.removeprefix("language-")
        return entity
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise HTMLParseError(f'Tag "span" must have class "tg-spoiler" at {where}')
        return {"type": "spoiler"}
    if name == "a":
        return {"type": "text_link", "url": attrs["href"]} if attrs.get("href") else None
    if name == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if "emoji-id" not in attrs:  # tg-emoji
        raise HTMLParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at {where}')
    return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}


def parse_telegram_html(html: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram's HTML subset into (plain text, message entities) or raise HTMLParseError.

    Follows https://core.telegram.org/bots/api#html-style: only the documented tags, balanced
    and properly nested; every ``<``, ``>`` and ``&`` outside a tag must be an entity (&lt; &gt;
    &amp; &quot; or numeric). Entity offsets and lengths are in UTF-16 code units. Public so bot
    code and tests can check their formatting offline.
    """
    text: list[str] = []
    length = 0  # UTF-16 length of the text so far
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    index = 0
    while index < len(html):
        char = html[index]
        if char == "&":
            decoded, index = _decode_entity(html, index)
            text.append(decoded)
            length += utf16_len(decoded)
        elif char == ">":
            raise HTMLParseError(
                f'Character ">" is reserved and must be escaped as "&gt;" '
                f"(byte offset {_byte_offset(html, index)})"
            )
        elif char == "<":
            index = _parse_tag(html, index, length, stack, entities)
        else:
            end = index + 1
            while end < len(html) and html[end] not in "<>&":
                end += 1
            chunk = html[index:end]
            text.append(chunk)
            length += utf16_len(chunk)
            index = end
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities


def _parse_tag(
    html: str, index: int, length: int, stack: list[_OpenTag], entities: list[JSONDict]
) -> int:
    """Handle the tag starting at ``index``; returns the index after it."""
    where = f"byte offset {_byte_offset(html, index)}"
    name_match = _TAG_NAME_RE.match(html, index)
    if not name_match:
        raise HTMLParseError(
            f'Character "<" is reserved and must be escaped as "&lt;" ({where})'
        )
    closing, name = name_match.group(1) == "/", name_match.group(2).lower()
    if name not in _SUPPORTED_TAGS:
        kind = "end" if closing else "start"
        raise HTMLParseError(f'Unsupported {kind} tag "{name}" at {where}')
    attrs: dict[str, str] = {}
    position = name_match.end()
    while attr := _ATTR_RE.match(html, position):
        value = next((v for v in attr.groups()[1:] if v is not None), "")
        attrs[attr.group(1).lower()] = _unescape_attribute(value)
        position = attr.end()
    end = _TAG_END_RE.match(html, position)
    if not end:
        raise HTMLParseError(f"Unclosed {'end' if closing else 'start'} tag at {where}")
    if not closing:
        stack.append(_OpenTag(name, length, _entity_for_tag(name, attrs, html, index)))
        return end.end()
    if not stack or stack[-1].name != name:
        expected = f'expected "</{stack[-1].name}>", ' if stack else ""
        raise HTMLParseError(f'Unmatched end tag at {where}, {expected}found "</{name}>"')
    opened = stack.pop()
    entity = opened.entity
    if name == "code" and stack and stack[-1].name == "pre" and stack[-1].entity is not None:
        # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
        if entity and "language" in entity:
            stack[-1].entity["language"] = entity["language"]
        entity = None
    if entity is not None and length > opened.offset:
        entities.append({**entity, "offset": opened.offset, "length": length - opened.offset})
    return end.end()


# --------------------------------------------------------------------------------------------
# Faults and call records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way a request can fail; build with the class methods, hand to ``FakeBotAPI.inject``."""

    kind: str
    status: int = 200
    retry_after: int = 0
    seconds: float = 0.0
    description: str = ""
    body: bytes = b""

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """Answer with a 5xx status and a Telegram-shaped error body."""
        return cls("server_error", status=status, description=HTTPStatus(status).phrase)

    @classmethod
    def flood(cls, retry_after: int = 1) -> Fault:
        """Answer 429 with ``parameters.retry_after``, as Telegram's flood control does."""
        return cls(
            "flood", status=429, retry_after=retry_after,
            description=f"Too Many Requests: retry after {retry_after}",
        )

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then answer normally (the request does take effect)."""
        return cls("slow", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop", status=0)

    @classmethod
    def malformed(cls) -> Fault:
        """Answer 200 with a body that is not JSON, like a misbehaving proxy."""
        return cls("malformed")

    @classmethod
    def raw(cls, status: int, body: bytes) -> Fault:
        """Answer ``status`` with exactly ``body`` as JSON (e.g. a proxy's 502 whose body is a JSON string)."""
        return cls("raw", status=status, body=body)

    @classmethod
    def bad_request(cls, description: str = "Bad Request: injected fault") -> Fault:
        """Answer 400 with ``description`` verbatim (Telegram's start with "Bad Request: ")."""
        return cls("bad_request", status=400, description=description)


@dataclass(frozen=True)
class Call:
    """One request the fake received, recorded once its answer was decided.

    ``time`` is ``time.monotonic()`` at arrival; ``status`` is the HTTP status answered (0 for a
    dropped connection); ``fault`` is the injected fault's kind, if one was served.
    """

    method: str
    params: JSONDict
    time: float
    status: int = 200
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded, i.e. it took effect and the client got ``ok: true``."""
        return self.status == 200 and self.fault in (None, "slow")


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver an update to the webhook: the HTTP status answered (0: no answer, the
    connection failed or timed out) and, for a failure, what went wrong."""

    update_id: int
    time: float
    status: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class _Injection:
    method: str
    fault: Fault
    remaining: int


class _ApiError(Exception):
    """Raised by method handlers; becomes a Telegram error answer."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass
class _Response:
    status: int  # 0: close the connection without answering
    body: bytes
    fault: str | None = None
    content_type: str = "application/json"


def _json_bytes(payload: Any) -> bytes:
    """JSON as Telegram sends it: UTF-8, with a lone surrogate (a broken client's text) as a ``\\ud800``
    escape, which UTF-8 cannot carry."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def _json_response(status: int, payload: JSONDict, fault: str | None = None) -> _Response:
    return _Response(status, _json_bytes(payload), fault)


def _error_payload(status: int, description: str, parameters: JSONDict | None = None) -> JSONDict:
    payload: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return payload


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


def _decode_params(raw: dict[str, Any]) -> JSONDict:
    """Give parameters their JSON types; nested objects often arrive as JSON strings."""
    params: JSONDict = {}
    for name, value in raw.items():
        if isinstance(value, str) and name not in _STRING_PARAMS:
            try:
                value = json.loads(value)
            except ValueError:
                pass  # a plain string such as "@channelname"
        params[name] = value
    return params


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Raw parameters from a JSON, urlencoded or multipart body (uploaded files stay bytes)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if media_type == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if media_type == "multipart/form-data":
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            if isinstance(name, str):
                params[name] = content if part.get_filename() else content.decode("utf-8")
        return params
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 overflows when PTB opens dozens of pooled connections at once,
    # and Linux then resets them mid-request (httpx.ReadError), failing benchmark replies.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, api: FakeBotAPI):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: errors here are clients hanging up, fake-side bugs are printed earlier."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as PTB's httpx pool expects; needed for benchmark speed.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request logging: the benchmark makes thousands of requests."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            raw = dict(parse_qsl(url.query, keep_blank_values=True))
            raw.update(_parse_body(self.headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError) as exc:
            response = _json_response(400, _error_payload(400, f"Bad Request: {exc}"))
        else:
            response = self.server.api._handle(url.path, _decode_params(raw))
        if response.status == 0:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


# --------------------------------------------------------------------------------------------
# The fake API
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """In-process fake of api.telegram.org for one bot; see the module docstring."""

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "wenzhou_qa_bot",
                 inline: bool = True, webhook_retry_delay: float = 0.2, webhook_timeout: float = 60.0):
        """``inline`` is whether the bot has inline mode on (@BotFather's /setinline); when off, inline
        queries cannot be sent to it. A failed webhook delivery is tried again after
        ``webhook_retry_delay`` seconds, doubling with each failure of that update up to 16 times that
        (Telegram's own pauses are longer); a delivery not answered within ``webhook_timeout`` failed."""
        self.token = token
        self.bot_username = bot_username
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "温州问答",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": inline,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._lock = threading.Lock()
        self._updates_changed = threading.Condition(self._lock)
        self._calls_changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()  # start/stop may race (a test thread vs. teardown)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # State below is guarded by self._lock.
        self._calls: list[Call] = []
        self._request_counts: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._injections: list[_Injection] = []
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_connections = 40
        self._webhook_route = ""
        self._webhook_error = ""
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._in_flight: set[int] = set()  # update ids being delivered to the webhook now
        self._retry_at: dict[int, float] = {}  # update id → when its next delivery may start
        self._failed_deliveries: Counter[int] = Counter()
        self._deliveries: list[Delivery] = []
        self._delivery_thread: threading.Thread | None = None
        self._delivery_pool: ThreadPoolExecutor | None = None
        self._down_until = 0.0  # an outage: every request is dropped until then
        self._outage_when_fetched = 0.0  # seconds of outage to start once getUpdates hands out updates
        self._commands: dict[str, list[JSONDict]] = {}
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_message_keys: list[tuple[int, int]] = []
        self._last_message_id: Counter[int] = Counter()
        self._open_callback_ids: set[str] = set()
        self._open_inline_ids: set[str] = set()
        self._watchers: dict[str, list[queue.SimpleQueue[Call]]] = {}
        self._languages: dict[int, str] = {}
        # Telegram matches method names case-insensitively; calls are recorded canonically.
        self._methods: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, getattr(self, "_api_" + name)) for name in _METHOD_NAMES
        }

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("FakeBotAPI already started")
            self._stopping.clear()
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name="FakeBotAPI", daemon=True,
            )
            self._thread.start()
            self._delivery_pool = ThreadPoolExecutor(max_workers=100, thread_name_prefix="FakeBotAPI-webhook")
            self._delivery_thread = threading.Thread(target=self._deliver_forever, name="FakeBotAPI-deliveries",
                                                     daemon=True)
            self._delivery_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; waiting long polls answer at once and open connections are closed."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self._stopping.set()
            with self._lock:
                self._updates_changed.notify_all()
            server.shutdown()
            with server.connections_lock:
                connections = list(server.connections)
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the client
            server.server_close()
            thread.join(timeout=2)
            if self._delivery_thread is not None:
                self._delivery_thread.join(timeout=2)
            if self._delivery_pool is not None:
                self._delivery_pool.shutdown(wait=False, cancel_futures=True)
            self._server = self._thread = self._delivery_thread = None
            self._delivery_pool = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """For ``telegram.Bot(token, base_url=...)``: PTB appends the token and the method."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ---- test-side: incoming updates ----------------------------------------------------

    def set_language(self, user_id: int, language_code: str) -> None:
        """The language of ``user_id``'s Telegram app from now on (``from.language_code`` of their updates;
        zh-hans unless set), e.g. zh-TW for a user who reads Traditional characters."""
        with self._lock:
            self._languages[user_id] = language_code

    def send_text(
        self,
        text: str,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message: JSONDict | None = None,
        entities: list[JSONDict] | None = None,
    ) -> int:
        """A user sends ``text``. Unless ``entities`` is given, a leading "/command" gets a
        bot_command entity and "@username" mentions get mention entities, as Telegram adds."""
        extra: JSONDict = {"text": text, "entities": _auto_entities(text) if entities is None
                           else entities}
        if not extra["entities"]:
            del extra["entities"]
        if reply_to_message is not None:
            extra["reply_to_message"] = reply_to_message
        return self._send_incoming(user_id, chat_id, chat_type, extra)

    def send_callback(
        self,
        data: str,
        user_id: int = 1001,
        chat_id: int | None = None,
        message: JSONDict | None = None,
    ) -> int:
        """A user presses an inline button carrying ``data`` under ``message`` (default: the bot's
        latest message in the chat). The callback query id is ``str(update_id)``."""
        with self._lock:
            chat = self._chat(_default_chat_id(user_id, chat_id, "private"))
            if message is None:
                message = next((self._messages[key] for key in reversed(self._bot_message_keys)
                                if key[0] == chat["id"]), None)
            message = copy.deepcopy(message)  # later edits must not change the queued update
            update_id = self._next_update_id
            query: JSONDict = {
                "id": str(update_id),
                "from": self._user(user_id),
                "chat_instance": str(chat["id"] * 7919 % 10**18),
                "data": data,
            }
            if message is not None:
                query["message"] = message
            return self._enqueue({"update_id": update_id, "callback_query": query})

    def send_inline_query(self, query: str, user_id: int = 1001, offset: str = "",
                          chat_type: str = "sender") -> int:
        """A user types ``@bot query`` in a chat (``chat_type`` as Telegram reports it: sender, private,
        group, supergroup, channel). The inline query id is ``str(update_id)``; it can be answered once."""
        if not self.bot_user["supports_inline_queries"]:
            raise ValueError("inline mode is off for this bot (/setinline at @BotFather): Telegram "
                             "would not send it inline queries")
        if len(query) > MAX_INLINE_QUERY_LENGTH:
            raise ValueError(f"Telegram's clients send at most {MAX_INLINE_QUERY_LENGTH} characters")
        with self._lock:
            update_id = self._next_update_id
            inline_query: JSONDict = {"id": str(update_id), "from": self._user(user_id), "query": query,
                                      "offset": offset, "chat_type": chat_type}
            return self._enqueue({"update_id": update_id, "inline_query": inline_query})

    def open_link(self, payload: str, user_id: int = 1001) -> int:
        """A user opens ``t.me/<bot>?start=<payload>``: their client sends ``/start <payload>``.
        Raises ValueError for a payload Telegram's links cannot carry (1–64 of A-Z a-z 0-9 _ -)."""
        if not _START_PARAMETER_RE.match(payload):
            raise ValueError(f"not a valid start payload: {payload!r}")
        return self.send_text(f"/start {payload}", user_id=user_id)

    def send_sticker(self, user_id: int = 1001, chat_id: int | None = None,
                     chat_type: str = "private", emoji: str = "👍") -> int:
        """A user sends a sticker."""
        sticker = {"file_id": f"sticker-{user_id}", "file_unique_id": f"s{user_id}",
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._send_incoming(user_id, chat_id, chat_type, {"sticker": sticker})

    def send_photo(self, user_id: int = 1001, chat_id: int | None = None,
                   chat_type: str = "private", caption: str | None = None) -> int:
        """A user sends a photo (two sizes, like Telegram), optionally captioned."""
        photo = [{"file_id": f"photo-{user_id}-{size}", "file_unique_id": f"p{user_id}{size}",
                  "width": size, "height": size, "file_size": size * 100} for size in (90, 800)]
        extra: JSONDict = {"photo": photo}
        if caption is not None:
            extra["caption"] = caption
        return self._send_incoming(user_id, chat_id, chat_type, extra)

    def send_voice(self, user_id: int = 1001, chat_id: int | None = None,
                   chat_type: str = "private", duration: int = 3) -> int:
        """A user sends a voice note."""
        voice = {"file_id": f"voice-{user_id}", "file_unique_id": f"v{user_id}",
                 "duration": duration, "mime_type": "audio/ogg", "file_size": duration * 4000}
        return self._send_incoming(user_id, chat_id, chat_type, {"voice": voice})

    def send_location(self, user_id: int = 1001, chat_id: int | None = None,
                      chat_type: str = "private", latitude: float = 27.9938,
                      longitude: float = 120.6994) -> int:
        """A user shares a location (default: central Wenzhou)."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._send_incoming(user_id, chat_id, chat_type, {"location": location})

    def send_edited_text(self, message_id: int, text: str, user_id: int = 1001,
                         chat_id: int | None = None, chat_type: str = "private") -> int:
        """A user edits their message ``message_id`` to ``text`` (an edited_message update)."""
        chat_id = _default_chat_id(user_id, chat_id, chat_type)
        now = int(time.time())
        with self._lock:
            original = self._messages.get((chat_id, message_id), {})
            message: JSONDict = {
                "message_id": message_id, "date": original.get("date", now), "edit_date": now,
                "chat": self._chat(chat_id, chat_type, user_id), "from": self._user(user_id),
                "text": text,
            }
            if entities := _auto_entities(text):
                message["entities"] = entities
            return self._enqueue({"edited_message": message})

    # ---- test-side: inspection ----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only those of ``method``."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def sent_messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages the bot sent, in sending order, as they are now (after any edits)."""
        with self._lock:
            return [copy.deepcopy(self._messages[key]) for key in self._bot_message_keys
                    if chat_id is None or key[0] == chat_id]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
        count: int = 1,
        ok_only: bool = True,
    ) -> list[Call]:
        """Block until the call log holds ``count`` calls of ``method`` matching ``predicate``.

        Counts over the whole log (since creation or the last ``reset_calls``), so a call that
        already happened counts; use ``reset_calls`` or a larger ``count`` to wait for new ones.
        By default only successful calls count (``Call.ok``), so a faulted attempt that the bot
        will retry is not mistaken for a delivered reply. Returns all matching calls.
        """
        deadline = time.monotonic() + timeout
        found: list[Call] = []
        scanned = 0
        while len(found) < count:
            with self._lock:
                if scanned > len(self._calls):  # reset_calls ran meanwhile: start over
                    found, scanned = [], 0
                new = self._calls[scanned:]
                scanned += len(new)
                if not new:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise AssertionError(
                            f"timed out after {timeout}s waiting for {count} matching {method} "
                            f"call(s), got {len(found)}; recorded calls: {self._summary()}")
                    self._calls_changed.wait(remaining)
                    continue
            # Only new calls are checked, outside the lock: cheap under benchmark load, and the
            # predicate may itself use the fake.
            found += [c for c in new if c.method == method and (c.ok or not ok_only)
                      and (predicate is None or predicate(c))]
        return found

    def reset_calls(self) -> None:
        """Forget recorded calls (``stats`` keeps counting)."""
        with self._lock:
            self._calls.clear()

    def forget(self) -> None:
        """Forget recorded calls and every stored message, so a long run (the soak) does not grow the fake's
        memory; the bot can then no longer edit or quote the messages it sent before."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._bot_message_keys.clear()

    def watch(self, method: str) -> queue.SimpleQueue[Call]:
        """A queue that gets every later successful call of ``method`` as it is recorded: a driver waits on
        it instead of scanning the call log."""
        watcher: queue.SimpleQueue[Call] = queue.SimpleQueue()
        with self._lock:
            self._watchers.setdefault(method, []).append(watcher)
        return watcher

    def stats(self) -> JSONDict:
        """Requests served per method and faults served per kind, since creation."""
        with self._lock:
            return {"requests": dict(self._request_counts), "faults": dict(self._fault_counts),
                    "total": sum(self._request_counts.values())}

    def inject(self, method: str, fault: Fault, times: int = 1) -> None:
        """Fail the next ``times`` requests of ``method`` (or ``ANY_METHOD``) with ``fault``.

        Injections are consumed in the order given; a faulted request has no side effect.
        """
        with self._lock:
            self._injections.append(_Injection(method, fault, times))

    def outage(self, seconds: float, when_fetched: bool = False) -> None:
        """Drop every request (the connection closes unanswered) for ``seconds``: from now, or, with
        ``when_fetched``, from the moment the next getUpdates hands out updates (the API goes down as a
        question is fetched)."""
        with self._lock:
            if when_fetched:
                self._outage_when_fetched = seconds
            else:
                self._down_until = time.monotonic() + seconds

    # ---- test-side: webhook delivery ----------------------------------------------------------

    def route_webhook(self, address: str) -> None:
        """Deliver webhook updates to ``address`` (``http://127.0.0.1:PORT``) instead of the https URL's
        host: what Telegram reaches at the public host is a TLS-terminating proxy, here that address. The
        URL's path is kept. Until a route is given, updates wait, as for a webhook Telegram cannot reach."""
        with self._lock:
            self._webhook_route = address.rstrip("/")
            self._updates_changed.notify_all()

    def deliveries(self, update_id: int | None = None) -> list[Delivery]:
        """Every webhook delivery attempt so far (of one update), oldest first."""
        with self._lock:
            return [d for d in self._deliveries if update_id is None or d.update_id == update_id]

    def wait_delivered(self, update_id: int, timeout: float = 10.0) -> None:
        """Block until the webhook has acknowledged ``update_id``; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(d.update_id == update_id and d.ok for d in self._deliveries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tried = [d.status for d in self._deliveries if d.update_id == update_id]
                    raise AssertionError(f"update {update_id} was not delivered within {timeout}s; attempts: {tried}")
                self._updates_changed.wait(remaining)

    def _deliver_forever(self) -> None:
        """Hand each pending update to a delivery thread when the webhook can take it (see the module's notes)."""
        while not self._stopping.is_set():
            with self._lock:
                update, wait = self._next_delivery()
                if update is None:
                    self._updates_changed.wait(wait)
                    continue
                self._in_flight.add(update["update_id"])
                target = self._webhook_route + (urlsplit(self._webhook_url).path or "/")
                secret = self._webhook_secret
            if self._delivery_pool is not None:
                self._delivery_pool.submit(self._deliver, update, target, secret)

    def _next_delivery(self) -> tuple[JSONDict | None, float]:
        """(the oldest update due for delivery, None) or (None, seconds until one may be due)."""
        if not (self._webhook_url and self._webhook_route) or len(self._in_flight) >= self._webhook_connections:
            return None, 0.5
        now = time.monotonic()
        wait = 0.5
        for update in self._updates:
            update_id = update["update_id"]
            if update_id in self._in_flight or not self._is_allowed(update):
                continue
            due = self._retry_at.get(update_id, 0.0)
            if due <= now:
                return update, 0.0
            wait = min(wait, due - now)
        return None, max(wait, 0.005)

    def _deliver(self, update: JSONDict, url: str, secret: str) -> None:
        update_id, status, error = update["update_id"], 0, ""
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        parts = urlsplit(url)
        try:
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                    timeout=self.webhook_timeout)
            try:
                connection.request("POST", parts.path, _json_bytes(update), headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        acknowledged = 200 <= status < 300
        if not acknowledged and not error:
            error = f"Wrong response from the webhook: {status}"
        with self._lock:
            self._in_flight.discard(update_id)
            self._deliveries.append(Delivery(update_id, time.monotonic(), status, error))
            if acknowledged:
                self._updates = [u for u in self._updates if u["update_id"] != update_id]
                self._retry_at.pop(update_id, None)
            else:
                self._failed_deliveries[update_id] += 1
                pause = self.webhook_retry_delay * 2 ** min(self._failed_deliveries[update_id] - 1, 4)
                self._retry_at[update_id] = time.monotonic() + pause
                self._webhook_error = error
            self._updates_changed.notify_all()

    # ---- request handling -----------------------------------------------------------------

    def _handle(self, path: str, params: JSONDict) -> _Response:
        """Answer one request: token check, then an injected fault or the method itself."""
        arrived = time.monotonic()
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match:
            return _json_response(404, _error_payload(404, "Not Found"))
        token, requested = match.groups()
        method, handler = self._methods.get(requested.lower(), (requested, None))
        if arrived < self._down_until:
            response = _Response(0, b"", "outage")
        elif token != self.token:
            response = _json_response(401, _error_payload(401, "Unauthorized"))
        else:
            fault = self._take_fault(method)
            if fault is not None and fault.kind == "slow":
                self._stopping.wait(fault.seconds)
                response = self._dispatch(handler, params)
                response.fault = "slow"
            elif fault is not None:
                response = _fault_response(fault)
            else:
                response = self._dispatch(handler, params)
        call = Call(method, params, arrived, response.status, response.fault)
        with self._lock:
            self._calls.append(call)
            if call.ok:
                for watcher in self._watchers.get(method, ()):
                    watcher.put(call)
            self._request_counts[method] += 1
            if response.fault:
                self._fault_counts[response.fault] += 1
            self._calls_changed.notify_all()
        return response

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for injection in self._injections:
                if injection.method in (method, ANY_METHOD):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection.fault
        return None

    def _dispatch(self, handler: Callable[[JSONDict], Any] | None, params: JSONDict
                  ) -> _Response:
        """Run a method handler; its result is serialized here, so handlers return copies of
        shared state."""
        if handler is None:
            return _json_response(404, _error_payload(404, "Not Found"))
        try:
            result = handler(params)
        except _ApiError as exc:
            return _json_response(exc.status, _error_payload(
                exc.status, exc.description, exc.parameters))
        except Exception as exc:  # a bug in the fake: answer like Telegram would, but say so
            traceback.print_exc()
            return _json_response(500, _error_payload(500, f"Internal fake API error: {exc!r}"))
        return _json_response(200, {"ok": True, "result": result})

    # ---- Bot API methods (each runs with the request's decoded parameters) -------------

    def _api_getMe(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    def _api_getUpdates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._webhook_url:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                     "active; use deleteWebhook to delete the webhook first")
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
            if offset < 0:
                del self._updates[:offset]  # keep the last -offset updates
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                batch = [u for u in self._updates if self._is_allowed(u)][:limit]
                remaining = deadline - time.monotonic()
                if batch and self._outage_when_fetched:
                    self._down_until = time.monotonic() + self._outage_when_fetched
                    self._outage_when_fetched = 0.0
                if batch or remaining <= 0 or self._stopping.is_set():
                    return batch
                self._updates_changed.wait(remaining)

    def _is_allowed(self, update: JSONDict) -> bool:
        return not self._allowed_updates or any(kind in update for kind in self._allowed_updates)

    def _api_deleteWebhook(self, params: JSONDict) -> bool:
        with self._lock:
            self._webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_setWebhook(self, params: JSONDict) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise _bad_request("bad webhook: max_connections must be 1-100")
        with self._lock:
            self._webhook_url = url
            self._webhook_secret = str(params.get("secret_token") or "")
            self._webhook_connections = connections
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._updates_changed.notify_all()
        return True

    def _api_getWebhookInfo(self, params: JSONDict) -> JSONDict:
        with self._lock:
            info: JSONDict = {"url": self._webhook_url, "has_custom_certificate": False,
                              "pending_update_count": len(self._updates), "max_connections": self._webhook_connections}
            if self._webhook_error:
                info["last_error_message"] = self._webhook_error
            return info

    def _api_setMyCommands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad_request("command description is empty or too long")
        with self._lock:
            self._commands[_commands_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, params: JSONDict) -> list[JSONDict]:
        with self._lock:
            return self._commands.get(_commands_key(params), [])

    def _api_deleteMyCommands(self, params: JSONDict) -> bool:
        with self._lock:
            self._commands.pop(_commands_key(params), None)
        return True

    def _api_sendMessage(self, params: JSONDict) -> JSONDict:
        chat_id = _require_chat_id(params)
        text, entities = _message_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        with self._lock:
            self._last_message_id[chat_id] += 1
            message: JSONDict = {
                "message_id": self._last_message_id[chat_id],
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if entities:
                message["entities"] = entities
            if markup:
                message["reply_markup"] = markup
            replied = self._message(chat_id, (params.get("reply_parameters") or {}).get("message_id"))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
            key = (chat_id, message["message_id"])
            self._messages[key] = message
            self._bot_message_keys.append(key)
            return copy.deepcopy(message)

    def _api_editMessageText(self, params: JSONDict) -> JSONDict:
        text, entities = _message_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._edit(params, {"text": text, "entities": entities, "reply_markup": markup})

    def _api_editMessageReplyMarkup(self, params: JSONDict) -> JSONDict:
        return self._edit(params, {"reply_markup": _inline_markup(params.get("reply_markup"))})

    def _edit(self, params: JSONDict, changes: JSONDict) -> JSONDict:
        """Apply ``changes`` to a bot message; a field set to None/empty is removed, as Telegram
        removes the keyboard when an edit omits reply_markup."""
        chat_id = _require_chat_id(params)
        with self._lock:
            message = self._message(chat_id, params.get("message_id"))
            if message is None:
                raise _bad_request("message to edit not found")
            if message["from"]["id"] != self.bot_user["id"]:
                raise _bad_request("message can't be edited")
            if all(message.get(k) == (v or None) for k, v in changes.items()):
                raise _bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message")
            for name, value in changes.items():
                if value:
                    message[name] = value
                else:
                    message.pop(name, None)
            message["edit_date"] = int(time.time())
            return copy.deepcopy(message)

    def _api_answerCallbackQuery(self, params: JSONDict) -> bool:
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            query_id = params.get("callback_query_id")
            if query_id not in self._open_callback_ids:
                raise _bad_request(
                    "query is too old and response timeout expired or query ID is invalid")
            self._open_callback_ids.discard(query_id)
        return True

    def _api_answerInlineQuery(self, params: JSONDict) -> bool:
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            _check_inline_result(result, ids)
        cache_time = params.get("cache_time", 300)
        if not isinstance(cache_time, int) or isinstance(cache_time, bool) or cache_time < 0:
            raise _bad_request("wrong parameter cache_time")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise _bad_request("can't parse InlineQueryResultsButton JSON object")
            if "start_parameter" in button and not _START_PARAMETER_RE.match(str(button["start_parameter"])):
                raise _bad_request("START_PARAM_INVALID")
            if not {"start_parameter", "web_app"} & button.keys():
                raise _bad_request("can't parse InlineQueryResultsButton JSON object")
        with self._lock:
            query_id = params.get("inline_query_id")
            if query_id not in self._open_inline_ids:
                raise _bad_request("query is too old and response timeout expired or query ID is invalid")
            self._open_inline_ids.discard(query_id)
        return True

    def _api_sendChatAction(self, params: JSONDict) -> bool:
        _require_chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _api_close(self, params: JSONDict) -> bool:
        return True

    def _api_logOut(self, params: JSONDict) -> bool:
        return True

    # ---- helpers (call with self._lock held where they touch state) ---------------------

    def _chat(self, chat_id: int, chat_type: str | None = None, user_id: int | None = None
              ) -> JSONDict:
        """The chat object for ``chat_id``, created on first sight."""
        if chat_id not in self._chats:
            if chat_type is None:
                chat_type = "private" if chat_id > 0 else "supergroup"
            chat: JSONDict = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                user = self._user(user_id if user_id is not None else chat_id)
                chat.update(first_name=user["first_name"], username=user["username"])
            else:
                chat["title"] = f"温州问答测试群 {chat_id}"
            self._chats[chat_id] = chat
        return self._chats[chat_id]

    def _send_incoming(self, user_id: int, chat_id: int | None, chat_type: str,
                       content: JSONDict) -> int:
        chat_id = _default_chat_id(user_id, chat_id, chat_type)
        with self._lock:
            self._last_message_id[chat_id] += 1
            message: JSONDict = {
                "message_id": self._last_message_id[chat_id],
                "from": self._user(user_id),
                "chat": self._chat(chat_id, chat_type, user_id),
                "date": int(time.time()),
                **content,
            }
            return self._enqueue({"message": message})

    def _enqueue(self, update: JSONDict) -> int:
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self._remember_incoming(update)
        bisect.insort(self._updates, update, key=lambda u: u["update_id"])
        self._updates_changed.notify_all()
        return update["update_id"]

    def _remember_incoming(self, update: JSONDict) -> None:
        if message := update.get("message"):
            chat_id = message["chat"]["id"]
            self._chats.setdefault(chat_id, message["chat"])
            self._messages[(chat_id, message["message_id"])] = message
            self._last_message_id[chat_id] = max(self._last_message_id[chat_id],
                                                 message["message_id"])
        if query := update.get("callback_query"):
            self._open_callback_ids.add(query["id"])
        if inline := update.get("inline_query"):
            self._open_inline_ids.add(inline["id"])

    def _message(self, chat_id: int, message_id: object) -> JSONDict | None:
        """A stored message of the chat, None for an unknown or malformed message id."""
        return self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None

    def _user(self, user_id: int) -> JSONDict:
        return {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}",
                "username": f"user{user_id}", "language_code": self._languages.get(user_id, "zh-hans")}

    def _summary(self) -> str:
        counts = Counter(c.method for c in self._calls)
        return ", ".join(f"{m}×{n}" for m, n in counts.items()) or "none"


# --------------------------------------------------------------------------------------------
# Module-level helpers
# --------------------------------------------------------------------------------------------


def _fault_response(fault: Fault) -> _Response:
    if fault.kind == "drop":
        return _Response(0, b"", fault.kind)
    if fault.kind == "raw":
        return _Response(fault.status, fault.body, fault.kind)
    if fault.kind == "malformed":
        return _Response(200, b"<html><body>502 Bad Gateway</body></html>", fault.kind,
                         content_type="text/html")
    parameters = {"retry_after": fault.retry_after} if fault.kind == "flood" else None
    return _json_response(fault.status,
                          _error_payload(fault.status, fault.description, parameters), fault.kind)


def _default_chat_id(user_id: int, chat_id: int | None, chat_type: str) -> int:
    if chat_id is not None:
        return chat_id
    return user_id if chat_type == "private" else DEFAULT_GROUP_ID


def _auto_entities(text: str) -> list[JSONDict]:
    """The bot_command and mention entities Telegram's clients attach to ``text``."""
    entities: list[JSONDict] = []
    command_end = 0
    if command := _BOT_COMMAND_RE.match(text):
        command_end = command.end()
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
    for mention in _MENTION_RE.finditer(text, command_end):
        entities.append({"type": "mention", "offset": utf16_len(text[:mention.start()]),
                         "length": utf16_len(mention[0])})
    return entities


def _commands_key(params: JSONDict) -> str:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)


def _require_chat_id(params: JSONDict) -> int:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise _bad_request("chat_id is empty")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise _bad_request("chat not found")
    return chat_id


def _message_text(params: JSONDict) -> tuple[str, list[JSONDict]]:
    """Validated (text, entities) of a sendMessage/editMessageText request."""
    raw = params.get("text")
    if not isinstance(raw, str):
        raise _bad_request("message text is empty")
    parse_mode = params.get("parse_mode")
    entities = params.get("entities") or []
    if parse_mode == "HTML":
        try:
            text, entities = parse_telegram_html(raw)
        except HTMLParseError as exc:
            raise _bad_request(f"can't parse entities: {exc}") from None
    elif parse_mode in (None, "", "Markdown", "MarkdownV2"):
        text = raw  # Markdown is passed through unvalidated
    else:
        raise _bad_request("unsupported parse_mode")
    if not text.strip():
        raise _bad_request("message text is empty")
    if utf16_len(text) > MAX_MESSAGE_LENGTH:
        raise _bad_request("message is too long")
    return text, entities


def _check_inline_result(result: Any, ids: set[str]) -> None:
    """Validate one InlineQueryResult (articles with text content are what a text bot sends)."""
    if not isinstance(result, dict) or not result.get("type"):
        raise _bad_request("can't parse InlineQueryResult JSON object")
    result_id = str(result.get("id") or "")
    if not 1 <= len(result_id.encode("utf-8")) <= MAX_INLINE_RESULT_ID_BYTES:
        raise _bad_request("RESULT_ID_INVALID")
    if result_id in ids:
        raise _bad_request("RESULT_ID_DUPLICATE")
    ids.add(result_id)
    if result["type"] != "article":
        raise _bad_request(f"the fake only checks article results, not {result['type']!r}")
    if not str(result.get("title") or "").strip():
        raise _bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        raise _bad_request("can't parse InputMessageContent JSON object")
    _message_text({"text": content["message_text"], "parse_mode": content.get("parse_mode"),
                   "entities": content.get("entities")})
    _inline_markup(result.get("reply_markup"))


def _inline_markup(markup: Any) -> JSONDict | None:
    """The markup to echo in the Message (Telegram echoes only inline keyboards), validated."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request("can't parse inline keyboard button: field \"inline_keyboard\" "
                           "of the InlineKeyboardMarkup must be an Array of Arrays")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not button.get("text"):
            raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
        if not _INLINE_BUTTON_ACTIONS & button.keys():
            raise _bad_request("can't parse inline keyboard button: "
                               "Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup
