"""The HTTP side of the fake: Telegram-shaped answers, request parameters decoded as Telegram decodes them,
and the threaded server that hands each request to ``FakeBotAPI``."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .limits import JSONDict

# Parameters Telegram types as strings. PTB form-encodes every value as text ("123" for both the
# int 123 and the string "123"), so only these stay strings; all others are JSON-decoded.
_STRING_PARAMS = frozenset({
    "text", "parse_mode", "caption", "callback_query_id", "inline_message_id", "url", "action",
    "language_code", "secret_token", "ip_address", "business_connection_id", "message_effect_id",
    "title", "description", "short_description", "name", "emoji", "inline_query_id", "next_offset",
})


class ApiError(Exception):
    """Raised by method handlers; becomes a Telegram error answer."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Response:
    status: int  # 0: close the connection without answering
    body: bytes
    fault: str | None = None
    content_type: str = "application/json"


def json_bytes(payload: Any) -> bytes:
    """JSON as Telegram sends it: UTF-8, with a lone surrogate (a broken client's text) as a ``\\ud800``
    escape, which UTF-8 cannot carry."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_response(status: int, payload: JSONDict, fault: str | None = None) -> Response:
    return Response(status, json_bytes(payload), fault)


def error_payload(status: int, description: str, parameters: JSONDict | None = None) -> JSONDict:
    payload: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return payload


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


class Server(ThreadingHTTPServer):
    """Serves 127.0.0.1 on a free port; ``answer(path, params)`` decides each request's response."""

    daemon_threads = True
    # The default backlog of 5 overflows when PTB opens dozens of pooled connections at once,
    # and Linux then resets them mid-request (httpx.ReadError), failing benchmark replies.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, answer: Callable[[str, JSONDict], Response]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: errors here are clients hanging up, fake-side bugs are printed earlier."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as PTB's httpx pool expects; needed for benchmark speed.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: Server

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
            response = json_response(400, error_payload(400, f"Bad Request: {exc}"))
        else:
            response = self.server.answer(url.path, _decode_params(raw))
        if response.status == 0:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
