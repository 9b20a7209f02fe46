"""Incoming updates a test enqueues, as Telegram's clients send them: messages (text, stickers, photos, voice
notes, locations, edits), button presses, inline queries and start links, each queued for getUpdates or the
webhook with the ids and entities Telegram would give it."""

from __future__ import annotations

import bisect
import copy
import re
import time

from .limits import MAX_INLINE_QUERY_LENGTH, START_PARAMETER_RE, JSONDict
from .state import FakeState
from .telegram_html import utf16_len

DEFAULT_GROUP_ID = -1001234567890
"""Chat id the update helpers use for non-private chats when none is given."""

_BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_MENTION_RE = re.compile(r"@[A-Za-z0-9_]{5,32}\b")


class IncomingUpdates(FakeState):
    """The test side of incoming traffic: each method enqueues one update and returns its ``update_id``."""

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
        if not START_PARAMETER_RE.match(payload):
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

    # ---- helpers (call with self._lock held) ---------------------------------------------

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
