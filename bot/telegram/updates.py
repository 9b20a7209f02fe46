"""How updates reach the handlers: one queue for polling and the webhook, and when an update counts as done.

Every update passes ``UpdateQueue.put`` (python-telegram-bot's updater puts, the application takes), where
text a broken client sent with lone surrogates is repaired once for everything after it: the answer, the
store, the logs and the report never meet a string UTF-8 cannot carry.

In webhook mode the webhook answers Telegram only once the update has been handled and the chat's memory
is in the store (``put`` returns then; ``HandledUpdates`` says when). python-telegram-bot would answer as
soon as the update is queued, so a replica killed in the middle of an answer would lose it; this way
Telegram gets no answer from a killed replica and delivers the update again, to whichever replica the
proxy picks, and that one finds the chat's memory as the last one left it. Delivery becomes at least once:
a replica killed after its reply went out but before Telegram heard back answers twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application, SimpleUpdateProcessor

from ..normalize import replace_surrogates


def repaired(update: Update) -> Update:
    """``update`` with lone surrogates in any of its texts replaced (itself when it has none)."""
    data = update.to_dict()
    fixed = _repair(data)
    return update if fixed == data else Update.de_json(fixed, update.get_bot())


def _repair(value: Any) -> Any:
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, dict):
        return {key: _repair(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_repair(item) for item in value]
    return value


class UpdateQueue(asyncio.Queue[object]):
    """The application's update queue; with ``acknowledge`` (webhook mode) ``put`` returns once the update
    is handled."""

    def __init__(self, acknowledge: bool) -> None:
        super().__init__()
        self.acknowledge = acknowledge
        self._waiting: dict[int, asyncio.Future[None]] = {}  # id of a queued update → done when handled

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        update = repaired(item)
        if not self.acknowledge:
            await super().put(update)
            return
        done = asyncio.get_running_loop().create_future()
        self._waiting[id(update)] = done
        try:
            await super().put(update)
            await done
        finally:
            self._waiting.pop(id(update), None)

    def handled(self, update: object) -> None:
        done = self._waiting.get(id(update))
        if done is not None and not done.done():
            done.set_result(None)


class HandledUpdates(SimpleUpdateProcessor):
    """At most ``max_concurrent_updates`` updates handled at once, as python-telegram-bot's own processor; when
    one is done (in webhook mode: and the memory of the chats it changed written), its ``put`` is released."""

    def __init__(self, max_concurrent_updates: int, queue: UpdateQueue) -> None:
        super().__init__(max_concurrent_updates)
        self.queue = queue
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None  # set once built

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
            if self.queue.acknowledge and self.application is not None:
                await self.application.update_persistence()
        finally:
            self.queue.handled(update)
