"""The state every part of ``FakeBotAPI`` shares, and the helpers that read it.

One lock (``_lock``) guards all of it, so the fake is safe under the many concurrent connections of the
benchmark; its two conditions wake long polls and webhook deliveries (``_updates_changed``) and tests waiting
for a call (``_calls_changed``). The mixins ``updates``, ``calls``, ``faults``, ``webhook`` and ``methods``
each work on this state; ``api`` composes them into ``FakeBotAPI``.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from .limits import JSONDict
from .records import Call, Delivery, Injection
from .wire import Server


class FakeState:
    """All the fake's state. The bot's identity and settings, which the mixins read too, are set by
    ``FakeBotAPI.__init__``."""

    bot_user: JSONDict
    webhook_retry_delay: float
    webhook_timeout: float

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._updates_changed = threading.Condition(self._lock)
        self._calls_changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()  # start/stop may race (a test thread vs. teardown)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        # State below is guarded by self._lock.
        self._calls: list[Call] = []
        self._request_counts: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._injections: list[Injection] = []
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_connections = 40
        self._webhook_route = ""
        self._webhook_error = ""
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

    def _message(self, chat_id: int, message_id: object) -> JSONDict | None:
        """A stored message of the chat, None for an unknown or malformed message id."""
        return self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None

    def _user(self, user_id: int) -> JSONDict:
        return {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}",
                "username": f"user{user_id}", "language_code": self._languages.get(user_id, "zh-hans")}

    def _is_allowed(self, update: JSONDict) -> bool:
        return not self._allowed_updates or any(kind in update for kind in self._allowed_updates)
