"""The Bot API methods, each run with the request's decoded parameters. They validate what Telegram would
reject in a bot's replies (bad HTML, over-long text, oversized callback data, edits of unknown or unchanged
messages, malformed inline results and start parameters) and answer with Telegram's own error text."""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from typing import Any

from .limits import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_INLINE_RESULT_ID_BYTES,
    MAX_INLINE_RESULTS,
    MAX_MESSAGE_LENGTH,
    START_PARAMETER_RE,
    JSONDict,
)
from .state import FakeState
from .telegram_html import HTMLParseError, parse_telegram_html, utf16_len
from .wire import ApiError, bad_request

METHOD_NAMES = (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "sendMessage", "editMessageText",
    "editMessageReplyMarkup", "answerCallbackQuery", "answerInlineQuery", "sendChatAction", "close",
    "logOut",
)

_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})

# Inline keyboard buttons need exactly one of these; a bare text button is rejected by Telegram.
_INLINE_BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class BotMethods(FakeState):
    """``_api_<name>`` for each name of ``METHOD_NAMES``; results are serialized by ``FakeBotAPI``, so a method
    returns copies of shared state."""

    def _api_getMe(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    def _api_getUpdates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
            if offset < 0:
                del self._updates[:offset]  # keep the last -offset updates
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                batch = [u for u in self._updates if self._is_allowed(u)][:limit]
                remaining = deadline - time.monotonic()
                if batch and self._outage_when_fetched:
                    self._down_until = time.monotonic() + self._outage_when_fetched
                    self._outage_when_fetched = 0.0
                if batch or remaining <= 0 or self._stopping.is_set():
                    return batch
                self._updates_changed.wait(remaining)

    def _api_deleteWebhook(self, params: JSONDict) -> bool:
        with self._lock:
            self._webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_setWebhook(self, params: JSONDict) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be 1-100")
        with self._lock:
            self._webhook_url = url
            self._webhook_secret = str(params.get("secret_token") or "")
            self._webhook_connections = connections
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._updates_changed.notify_all()
        return True

    def _api_getWebhookInfo(self, params: JSONDict) -> JSONDict:
        with self._lock:
            info: JSONDict = {"url": self._webhook_url, "has_custom_certificate": False,
                              "pending_update_count": len(self._updates), "max_connections": self._webhook_connections}
            if self._webhook_error:
                info["last_error_message"] = self._webhook_error
            return info

    def _api_setMyCommands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("command description is empty or too long")
        with self._lock:
            self._commands[_commands_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, params: JSONDict) -> list[JSONDict]:
        with self._lock:
            return self._commands.get(_commands_key(params), [])

    def _api_deleteMyCommands(self, params: JSONDict) -> bool:
        with self._lock:
            self._commands.pop(_commands_key(params), None)
        return True

    def _api_sendMessage(self, params: JSONDict) -> JSONDict:
        chat_id = _require_chat_id(params)
        text, entities = _message_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        with self._lock:
            self._last_message_id[chat_id] += 1
            message: JSONDict = {
                "message_id": self._last_message_id[chat_id],
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if entities:
                message["entities"] = entities
            if markup:
                message["reply_markup"] = markup
            replied = self._message(chat_id, (params.get("reply_parameters") or {}).get("message_id"))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
            key = (chat_id, message["message_id"])
            self._messages[key] = message
            self._bot_message_keys.append(key)
            return copy.deepcopy(message)

    def _api_editMessageText(self, params: JSONDict) -> JSONDict:
        text, entities = _message_text(params)
        markup = _inline_markup(params.get("reply_markup"))
        return self._edit(params, {"text": text, "entities": entities, "reply_markup": markup})

    def _api_editMessageReplyMarkup(self, params: JSONDict) -> JSONDict:
        return self._edit(params, {"reply_markup": _inline_markup(params.get("reply_markup"))})

    def _edit(self, params: JSONDict, changes: JSONDict) -> JSONDict:
        """Apply ``changes`` to a bot message; a field set to None/empty is removed, as Telegram
        removes the keyboard when an edit omits reply_markup."""
        chat_id = _require_chat_id(params)
        with self._lock:
            message = self._message(chat_id, params.get("message_id"))
            if message is None:
                raise bad_request("message to edit not found")
            if message["from"]["id"] != self.bot_user["id"]:
                raise bad_request("message can't be edited")
            if all(message.get(k) == (v or None) for k, v in changes.items()):
                raise bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message")
            for name, value in changes.items():
                if value:
                    message[name] = value
                else:
                    message.pop(name, None)
            message["edit_date"] = int(time.time())
            return copy.deepcopy(message)

    def _api_answerCallbackQuery(self, params: JSONDict) -> bool:
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            query_id = params.get("callback_query_id")
            if query_id not in self._open_callback_ids:
                raise bad_request(
                    "query is too old and response timeout expired or query ID is invalid")
            self._open_callback_ids.discard(query_id)
        return True

    def _api_answerInlineQuery(self, params: JSONDict) -> bool:
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            _check_inline_result(result, ids)
        cache_time = params.get("cache_time", 300)
        if not isinstance(cache_time, int) or isinstance(cache_time, bool) or cache_time < 0:
            raise bad_request("wrong parameter cache_time")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise bad_request("can't parse InlineQueryResultsButton JSON object")
            if "start_parameter" in button and not START_PARAMETER_RE.match(str(button["start_parameter"])):
                raise bad_request("START_PARAM_INVALID")
            if not {"start_parameter", "web_app"} & button.keys():
                raise bad_request("can't parse InlineQueryResultsButton JSON object")
        with self._lock:
            query_id = params.get("inline_query_id")
            if query_id not in self._open_inline_ids:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self._open_inline_ids.discard(query_id)
        return True

    def _api_sendChatAction(self, params: JSONDict) -> bool:
        _require_chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_close(self, params: JSONDict) -> bool:
        return True

    def _api_logOut(self, params: JSONDict) -> bool:
        return True


def _commands_key(params: JSONDict) -> str:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)


def _require_chat_id(params: JSONDict) -> int:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise bad_request("chat not found")
    return chat_id


def _message_text(params: JSONDict) -> tuple[str, list[JSONDict]]:
    """Validated (text, entities) of a sendMessage/editMessageText request."""
    raw = params.get("text")
    if not isinstance(raw, str):
        raise bad_request("message text is empty")
    parse_mode = params.get("parse_mode")
    entities = params.get("entities") or []
    if parse_mode == "HTML":
        try:
            text, entities = parse_telegram_html(raw)
        except HTMLParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif parse_mode in (None, "", "Markdown", "MarkdownV2"):
        text = raw  # Markdown is passed through unvalidated
    else:
        raise bad_request("unsupported parse_mode")
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return text, entities


def _check_inline_result(result: Any, ids: set[str]) -> None:
    """Validate one InlineQueryResult (articles with text content are what a text bot sends)."""
    if not isinstance(result, dict) or not result.get("type"):
        raise bad_request("can't parse InlineQueryResult JSON object")
    result_id = str(result.get("id") or "")
    if not 1 <= len(result_id.encode("utf-8")) <= MAX_INLINE_RESULT_ID_BYTES:
        raise bad_request("RESULT_ID_INVALID")
    if result_id in ids:
        raise bad_request("RESULT_ID_DUPLICATE")
    ids.add(result_id)
    if result["type"] != "article":
        raise bad_request(f"the fake only checks article results, not {result['type']!r}")
    if not str(result.get("title") or "").strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        raise bad_request("can't parse InputMessageContent JSON object")
    _message_text({"text": content["message_text"], "parse_mode": content.get("parse_mode"),
                   "entities": content.get("entities")})
    _inline_markup(result.get("reply_markup"))


def _inline_markup(markup: Any) -> JSONDict | None:
    """The markup to echo in the Message (Telegram echoes only inline keyboards), validated."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard button: field \"inline_keyboard\" "
                          "of the InlineKeyboardMarkup must be an Array of Arrays")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad_request("can't parse inline keyboard button: Text must be non-empty")
        if not _INLINE_BUTTON_ACTIONS & button.keys():
            raise bad_request("can't parse inline keyboard button: "
                              "Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup
