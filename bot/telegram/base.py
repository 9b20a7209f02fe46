"""What every feature of the Telegram bot shares: settings, engine, store, answer threads, counters, the way
messages go out, and the one decision of which script a user reads.

Every feature module (questions, topics, staff, votes, liveness, inline) is a class over one ``BotCore``;
``bot.telegram.wiring`` builds them and registers their handlers. Nothing here imports a feature.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from ..config import Settings, available_cores
from ..engine import Engine
from ..normalize import in_script as in_script  # where the Telegram modules take it from
from ..normalize import looks_traditional, to_traditional
from ..render import MAX_MESSAGE_UTF16
from ..store import RateLimiter, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

_TRADITIONAL_LANGUAGES = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")

EXPIRED = "这个按钮已失效"  # the notice for a press of a button whose data is unknown or no longer valid


@dataclass
class UserState:
    """What the bot keeps of a user while it runs (``context.user_data``; not persisted)."""

    traditional: bool | None = None  # the script of their last question; None before they asked one


# chat_data stays a plain dict: it is persisted as JSON (the conversation memory)
Context = CallbackContext[ExtBot[Any], UserState, dict[Any, Any], dict[Any, Any]]
CONTEXT_TYPES = ContextTypes(user_data=UserState)


@dataclass
class Stats:
    """Counters since start, for /stats."""

    started: float = field(default_factory=time.time)
    answered: int = 0
    abstained: int = 0
    no_figure: int = 0
    rate_limited: int = 0
    votes_up: int = 0
    votes_down: int = 0
    errors: int = 0


def prefers_traditional(language_code: str | None) -> bool:
    """Whether a Telegram language (zh-hant, zh-TW, zh-HK …) reads Traditional characters."""
    return (language_code or "").lower().startswith(_TRADITIONAL_LANGUAGES)


def script_of(text: str) -> bool | None:
    """True for Traditional text, False for Simplified, None for text that shows neither (no Chinese, or only
    characters both scripts share)."""
    if looks_traditional(text):
        return True
    return False if to_traditional(text) != text else None


def user_script(update: Update, context: Context, text: str = "") -> bool:
    """Whether to write to ``update``'s user in Traditional characters: the one place that decides.

    ``text`` is what the update is about (what the user wrote, or the message whose button they pressed):
    its script decides when it shows one. Else the script of the user's last question; else their Telegram
    language, all a user who has asked nothing yet shows of themselves."""
    shown = script_of(text) if text else None
    if shown is not None:
        return shown
    if context.user_data is not None and context.user_data.traditional is not None:
        return context.user_data.traditional
    user = update.effective_user
    return prefers_traditional(user.language_code if user is not None else None)


def quoted_in_groups(message: Message) -> Message | None:
    """The message a reply quotes: in a group the one it answers (several people talk there), none in private."""
    return message if message.chat.type != ChatType.PRIVATE else None


def button_chat(query: CallbackQuery) -> int:
    """The chat a pressed button was in (the presser's private chat when Telegram no longer says)."""
    return query.message.chat.id if query.message is not None else query.from_user.id


def message_text(message: object) -> str:
    """The text of a message a button was under ("" when Telegram no longer shows it to the bot)."""
    return (message.text or "") if isinstance(message, Message) else ""


class BotCore:
    """The state the features share and the ways they talk to Telegram.

    Answers are CPU-bound sync code: they run in a thread pool (``run_sync``), so the event loop keeps
    polling and sending while many users are served at once (setting telegram_concurrent_updates)."""

    def __init__(self, settings: Settings, engine: Engine, store: Store | None,
                 examples: list[str]) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store  # None: nothing is stored and answers carry no vote buttons
        self.examples = examples
        self.stats = Stats()
        self.message_limit = MAX_MESSAGE_UTF16  # tests lower it to see long replies split
        self._executor: ThreadPoolExecutor | None = None
        self._log_salt = secrets.token_bytes(32)  # hashes user ids in logs when there is no store

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            threads = int(self.settings.answer_threads) or available_cores()
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="answer")
        return self._executor

    async def run_sync(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking work (search, SQLite) in the answer threads, keeping the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def rate_limiter(self, scope: str, limit: int) -> RateLimiter:
        """A per-user limit of ``limit`` events of ``scope`` a minute, counted in the store (so every replica
        on it counts together), in this process when there is none or it fails."""
        return RateLimiter(scope, limit, self.store, retry_seconds=float(self.settings.store_retry_seconds))

    def hash_user(self, user_id: int) -> str:
        """Short salted hash of a user id for log lines (raw ids are never logged); the same hash as the
        feedback store's, so a log line can be matched with the database."""
        if self.store is not None:
            return self.store.log_hash(user_id)
        return hmac.new(self._log_salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    def example(self, lead_in: str) -> str:
        """The first example question of the content, after ``lead_in``; "" when there is none."""
        return f"{lead_in}{self.examples[0]}" if self.examples else ""

    async def send(self, context: Context, chat_id: int, parts: list[str],
                   markup: InlineKeyboardMarkup | None = None, reply_to: Message | None = None) -> None:
        """Send the parts in order; the keyboard goes under the last one, the first one quotes ``reply_to``."""
        for i, part in enumerate(parts):
            reply = ReplyParameters(reply_to.message_id, allow_sending_without_reply=True) \
                if reply_to is not None and i == 0 else None
            await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_parameters=reply,
                                           reply_markup=markup if i == len(parts) - 1 else None)

    async def say(self, context: Context, chat_id: int, text: str, traditional: bool = False,
                  reply_to: Message | None = None) -> None:
        """One message of plain words (no markup), in the user's script."""
        await self.send(context, chat_id, [html.escape(in_script(text, traditional))], reply_to=reply_to)

    async def pressed(self, update: Update, parse: Callable[[str | None], T | None]) -> tuple[CallbackQuery, T] | None:
        """The button press of ``update`` and its data as ``parse`` (a ``buttons`` parser) reads them; None when
        the data does not parse, the press then answered as expired."""
        query = update.callback_query
        if query is None:
            return None
        value = parse(query.data)
        if value is None:
            await self.answer_button(query, EXPIRED)
            return None
        return query, value

    async def answer_button(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer a button press (``text`` shows as a notice); one too old to answer is only logged."""
        try:
            await query.answer(text)
        except BadRequest as exc:  # too old (or already answered by a retried request): nothing to do
            log.info("could not answer a button press: %s", exc)

    async def typing(self, context: Context, chat_id: int) -> None:
        """Show "typing…" while a question is answered; a failure only loses the indicator."""
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.info("could not show the typing indicator: %s", exc)
