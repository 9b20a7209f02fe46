"""``FakeBotAPI``: the fake's parts composed over one shared state, with its lifecycle (start and stop, port,
``base_url``) and the path of one request (outage, token, injected fault, method, call record)."""

from __future__ import annotations

import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from .calls import CallLog
from .faults import FaultInjection, fault_response
from .limits import JSONDict
from .methods import METHOD_NAMES, BotMethods
from .records import Call
from .updates import IncomingUpdates
from .webhook import WebhookDelivery
from .wire import ApiError, Response, Server, error_payload, json_response


class FakeBotAPI(IncomingUpdates, CallLog, FaultInjection, WebhookDelivery, BotMethods):
    """In-process fake of api.telegram.org for one bot; see the package docstring."""

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
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        super().__init__()
        # Telegram matches method names case-insensitively; calls are recorded canonically.
        self._methods: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, getattr(self, "_api_" + name)) for name in METHOD_NAMES
        }

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("FakeBotAPI already started")
            self._stopping.clear()
            self._server = Server(self._handle)
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

    # ---- request handling -----------------------------------------------------------------

    def _handle(self, path: str, params: JSONDict) -> Response:
        """Answer one request: token check, then an injected fault or the method itself."""
        arrived = time.monotonic()
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match:
            return json_response(404, error_payload(404, "Not Found"))
        token, requested = match.groups()
        method, handler = self._methods.get(requested.lower(), (requested, None))
        if arrived < self._down_until:
            response = Response(0, b"", "outage")
        elif token != self.token:
            response = json_response(401, error_payload(401, "Unauthorized"))
        else:
            fault = self._take_fault(method)
            if fault is not None and fault.kind == "slow":
                self._stopping.wait(fault.seconds)
                response = self._dispatch(handler, params)
                response.fault = "slow"
            elif fault is not None:
                response = fault_response(fault)
            else:
                response = self._dispatch(handler, params)
        call = Call(method, params, arrived, response.status, response.fault)
        self._record(call)
        return response

    def _dispatch(self, handler: Callable[[JSONDict], Any] | None, params: JSONDict
                  ) -> Response:
        """Run a method handler; its result is serialized here, so handlers return copies of
        shared state."""
        if handler is None:
            return json_response(404, error_payload(404, "Not Found"))
        try:
            result = handler(params)
        except ApiError as exc:
            return json_response(exc.status, error_payload(
                exc.status, exc.description, exc.parameters))
        except Exception as exc:  # a bug in the fake: answer like Telegram would, but say so
            traceback.print_exc()
            return json_response(500, error_payload(500, f"Internal fake API error: {exc!r}"))
        return json_response(200, {"ok": True, "result": result})
