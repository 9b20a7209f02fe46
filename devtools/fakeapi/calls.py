"""What the fake records and how a test reads it: the call log, the bot's messages as they stand now, waiting
for or watching calls of a method, and request and fault counts."""

from __future__ import annotations

import copy
import queue
import time
from collections import Counter
from collections.abc import Callable

from .limits import JSONDict
from .records import Call
from .state import FakeState


class CallLog(FakeState):
    """Every request is recorded as a ``Call`` once its answer is decided (``_record``)."""

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

    def _record(self, call: Call) -> None:
        """Log ``call``, hand it to the watchers of its method if it succeeded, and count it."""
        with self._lock:
            self._calls.append(call)
            if call.ok:
                for watcher in self._watchers.get(call.method, ()):
                    watcher.put(call)
            self._request_counts[call.method] += 1
            if call.fault:
                self._fault_counts[call.fault] += 1
            self._calls_changed.notify_all()

    def _summary(self) -> str:
        counts = Counter(c.method for c in self._calls)
        return ", ".join(f"{m}×{n}" for m, n in counts.items()) or "none"
