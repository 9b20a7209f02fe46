"""Each chat's memory for python-telegram-bot, kept in the store: per chat, off the event loop, never in the way.

python-telegram-bot keeps ``chat_data`` in memory and hands it to a persistence: ``refresh_chat_data``
before each update of a chat, ``update_chat_data`` for the chats that had updates every
``conversation_flush_seconds`` and at shutdown (in webhook mode also after each update, before Telegram is
answered: ``bot.telegram.updates``). This persistence

* reads nothing at start-up (start-up costs the same with 10 or 100,000 chats stored): a chat's memory is
  read from the store when the chat next sends something, and read again whenever another replica has
  written it since, so replicas behind one webhook share each chat's memory;
* writes one row per changed chat (an unchanged chat writes nothing), in a worker thread, never on the
  event loop;
* stores only chat_data, as plain JSON (``bot.store.memory``); bot_data, user_data and callback_data stay off;
* never stops answering: when the store fails, the failure is logged once, chats are remembered in this
  process only, and the store is tried again after store_retry_seconds;
* imports the old pickle file of PicklePersistence (setting conversation_store) once, at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from ..config import Settings
from ..errors import FeedbackStoreError
from .memory import decode_memory, encode_memory, migrate_legacy_pickle
from .store import Store

log = logging.getLogger(__name__)

Memory = dict[Any, Any]


class StorePersistence(BasePersistence[Memory, Memory, Memory]):
    """python-telegram-bot's persistence over ``Store``'s chat memory (see the module's notes)."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(PersistenceInput(bot_data=False, user_data=False, chat_data=True, callback_data=False),
                         update_interval=float(settings.conversation_flush_seconds))
        self.store = store
        self.legacy_file = settings.path("conversation_store")
        self.retry_seconds = float(settings.store_retry_seconds)
        self._clock = clock
        self._known: dict[int, str] = {}  # chat id → its memory as last read from or written to the store
        self._paused_until = 0.0
        self._failing = False

    async def _call(self, function: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """(True, result) of a blocking store call run in a worker thread; (False, None) when it failed or the
        store is resting after a failure."""
        if self._clock() < self._paused_until:
            return False, None
        try:
            result = await asyncio.to_thread(function, *args)
        except FeedbackStoreError as exc:
            self._paused_until = self._clock() + self.retry_seconds
            if not self._failing:
                self._failing = True
                log.error("chat memory: %s; chats are remembered in this process only until the store works "
                          "again (tried every %g s)", exc, self.retry_seconds)
            return False, None
        if self._failing:
            self._failing = False
            log.info("chat memory: the store works again")
        return True, result

    def _start(self) -> None:
        """Open the store (a damaged one is reported now, once) and import the old pickle file, if any."""
        self.store.open()
        migrate_legacy_pickle(self.legacy_file, self.store.import_memories)

    # -- chat data ------------------------------------------------------------------------------------
    async def get_chat_data(self) -> dict[int, Memory]:
        await self._call(self._start)
        return {}

    async def refresh_chat_data(self, chat_id: int, chat_data: Memory) -> None:
        """Replace the chat's memory with the store's when the store holds something this process has not
        read or written (the chat's first update here, or another replica's write)."""
        ok, text = await self._call(self.store.load_memory, chat_id)
        if not ok or text is None or text == self._known.get(chat_id):
            return
        self._known[chat_id] = text
        try:
            memory = decode_memory(text)
        except ValueError as exc:
            log.warning("chat memory: a chat's stored memory is damaged (%s); it starts empty", exc)
            return
        chat_data.clear()
        chat_data.update(memory)

    async def update_chat_data(self, chat_id: int, data: Memory) -> None:
        try:
            text = encode_memory(data)
        except ValueError as exc:
            log.error("chat memory: a chat's memory holds %s, which is not plain data; it was not stored", exc)
            return
        known = self._known.get(chat_id)
        if text == known or (known is None and not data):
            return
        ok, _ = await self._call(self.store.save_memory, chat_id, text)
        if ok:
            self._known[chat_id] = text

    async def drop_chat_data(self, chat_id: int) -> None:
        self._known.pop(chat_id, None)
        await self._call(self.store.drop_memory, chat_id)

    async def flush(self) -> None:
        """Nothing is held back: each run of update_persistence has written its chats already."""

    # -- what is not kept (PersistenceInput above turns them off) -------------------------------------------
    async def get_user_data(self) -> dict[int, Memory]:
        return {}

    async def get_bot_data(self) -> Memory:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        pass

    async def update_user_data(self, user_id: int, data: Memory) -> None:
        pass

    async def update_bot_data(self, data: Memory) -> None:
        pass

    async def update_callback_data(self, data: CDCData) -> None:
        pass

    async def drop_user_data(self, user_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: Memory) -> None:
        pass

    async def refresh_bot_data(self, bot_data: Memory) -> None:
        pass
