"""Webhook mode as Telegram runs it: once ``setWebhook`` names a URL (and a test has said where that
URL's host is reachable, ``route_webhook``), each update is POSTed there with the secret token header,
up to ``max_connections`` at a time, oldest first; an update whose delivery fails (no connection, no
answer within the timeout, a status other than 2xx) stays pending and is delivered again after a pause
that doubles with each failure, until it is acknowledged. ``deliveries`` records every attempt.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from .limits import JSONDict
from .records import Delivery
from .state import FakeState
from .wire import json_bytes


class WebhookDelivery(FakeState):
    """Delivers pending updates to the webhook: ``_deliver_forever`` runs in a thread of its own while the
    fake serves."""

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
                connection.request("POST", parts.path, json_bytes(update), headers)
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
