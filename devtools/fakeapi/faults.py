"""Fault injection: one-shot faults (5xx, flood control, slow answers, dropped connections, non-JSON bodies)
to exercise the bot's retry paths, or an outage (every request dropped for some seconds).

A request that hits an injected fault has no side effect, exactly as a retry expects: a failed
``sendMessage`` stored nothing, a failed ``getUpdates`` confirmed nothing.
"""

from __future__ import annotations

import time

from .records import ANY_METHOD, Fault, Injection
from .state import FakeState
from .wire import Response, error_payload, json_response


class FaultInjection(FakeState):
    """Faults a test injects, taken by the requests they fail."""

    def inject(self, method: str, fault: Fault, times: int = 1) -> None:
        """Fail the next ``times`` requests of ``method`` (or ``ANY_METHOD``) with ``fault``.

        Injections are consumed in the order given; a faulted request has no side effect.
        """
        with self._lock:
            self._injections.append(Injection(method, fault, times))

    def outage(self, seconds: float, when_fetched: bool = False) -> None:
        """Drop every request (the connection closes unanswered) for ``seconds``: from now, or, with
        ``when_fetched``, from the moment the next getUpdates hands out updates (the API goes down as a
        question is fetched)."""
        with self._lock:
            if when_fetched:
                self._outage_when_fetched = seconds
            else:
                self._down_until = time.monotonic() + seconds

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for injection in self._injections:
                if injection.method in (method, ANY_METHOD):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection.fault
        return None


def fault_response(fault: Fault) -> Response:
    if fault.kind == "drop":
        return Response(0, b"", fault.kind)
    if fault.kind == "raw":
        return Response(fault.status, fault.body, fault.kind)
    if fault.kind == "malformed":
        return Response(200, b"<html><body>502 Bad Gateway</body></html>", fault.kind,
                        content_type="text/html")
    parameters = {"retry_after": fault.retry_after} if fault.kind == "flood" else None
    return json_response(fault.status,
                         error_payload(fault.status, fault.description, parameters), fault.kind)
