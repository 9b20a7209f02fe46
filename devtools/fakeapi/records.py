"""What a test hands the fake and reads back from it: a ``Fault`` to inject, the ``Call`` record of each
request, the ``Delivery`` record of each webhook attempt."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from .limits import JSONDict

ANY_METHOD = "*"
"""Pass to ``FakeBotAPI.inject`` to fault the next request whatever its method."""


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
class Injection:
    """A fault waiting for the next ``remaining`` requests of ``method`` (or of any method)."""

    method: str
    fault: Fault
    remaining: int
