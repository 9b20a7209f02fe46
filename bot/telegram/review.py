"""``/review`` for admins (setting admin_ids): the unanswered and 👎 questions one at a time, each with a button
per candidate passage (one tap pins it, and the next asker of the question or a paraphrase gets that passage),
"skip" and "none fits" (kept in the store as a content gap, listed by `python -m bot report`).

The queue is read from the store on every step, so reviewed questions never come back, whichever replica
served the tap; what an admin skipped is kept in this process for their chat. Buttons name their question by a
hash of its report key (bot.telegram.buttons): a tap on a question reviewed meanwhile only shows the next one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from ..errors import BotError, KnowledgeError
from ..pins import pin_passage
from ..review import Candidate, ToReview, candidates, queue
from ..store.store import NONE_FITS, PINNED, report_key
from .base import BotCore, Context, button_chat
from .buttons import (
    REVIEW_NONE,
    REVIEW_PIN,
    REVIEW_SKIP,
    ItemRef,
    parse_review_none,
    parse_review_pin,
    parse_review_skip,
    question_hash,
    review_none_data,
    review_pin_data,
    review_skip_data,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_WHY = {"unanswered": "没有回答", "downvoted": "被点了 👎"}
_LABEL_CHARS = 24  # of a candidate's heading on its button


class Review:
    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.admins = frozenset(int(i) for i in core.settings.admin_ids)
        self._skipped: dict[int, set[str]] = {}  # admin chat → report keys skipped there

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        return [CommandHandler("review", self.on_review, filters=filters.UpdateType.MESSAGE),
                CallbackQueryHandler(self.on_pin, pattern=REVIEW_PIN),
                CallbackQueryHandler(self.on_skip, pattern=REVIEW_SKIP),
                CallbackQueryHandler(self.on_none_fits, pattern=REVIEW_NONE)]

    async def on_review(self, update: Update, context: Context) -> None:
        user, chat = update.effective_user, update.effective_chat
        if chat is None:
            return
        if user is None or user.id not in self.admins:
            log.warning("refused /review from a non-admin user %s",
                        self.core.hash_user(user.id) if user is not None else "unknown")
            await self.core.say(context, chat.id, "抱歉，/review 只有管理员可以用。")
            return
        await self._show_next(context, chat.id)

    def _waiting(self, chat_id: int) -> list[ToReview]:
        """The questions still to review, from the store (raises FeedbackStoreError)."""
        store = self.core.store
        if store is None:
            return []
        report = store.report(days=0, limit=int(self.core.settings.review_queue_size))
        return queue(report, frozenset(self._skipped.get(chat_id, set())))

    async def _show_next(self, context: Context, chat_id: int) -> None:
        if self.core.store is None:
            await self.core.say(context, chat_id, "没有反馈数据库，没有可审阅的问题。")
            return
        try:
            waiting = await self.core.run_sync(self._waiting, chat_id)
        except BotError as exc:
            log.error("/review: cannot read the store: %s", exc)
            await self.core.say(context, chat_id, "读取反馈数据库失败（详见日志），请稍后再试。")
            return
        if not waiting:
            await self.core.say(context, chat_id, "没有待审阅的问题了。")
            return
        item = waiting[0]
        found = await self.core.run_sync(candidates, self.core.engine, item.question)
        await self.core.send(context, chat_id, [html.escape(_text(item, found, len(waiting)))],
                             _keyboard(item, found))

    async def _admin_press(self, update: Update,
                           parse: Callable[[str | None], T | None]) -> tuple[CallbackQuery, T] | None:
        """The press and its parsed data when an admin pressed; a non-admin's press is refused."""
        press = await self.core.pressed(update, parse)
        if press is None:
            return None
        query, value = press
        if query.from_user.id not in self.admins:
            log.warning("refused a /review button from a non-admin user %s", self.core.hash_user(query.from_user.id))
            await self.core.answer_button(query, "只有管理员可以用")
            return None
        return query, value

    async def _question(self, chat_id: int, hashed: str) -> ToReview | None:
        """The waiting question a button names; None when it was reviewed meanwhile."""
        waiting = await self.core.run_sync(self._waiting, chat_id)
        return next((w for w in waiting if question_hash(report_key(w.question)) == hashed), None)

    async def on_pin(self, update: Update, context: Context) -> None:
        press = await self._admin_press(update, parse_review_pin)
        if press is None:
            return
        query, pressed = press
        chat_id = button_chat(query)
        item = await self._question(chat_id, pressed.question)
        if item is None:
            await self.core.answer_button(query, "这个问题已经审阅过了")
            await self._show_next(context, chat_id)
            return
        try:
            passage = await self.core.run_sync(self._pin, item.question, pressed.passage)
        except BotError as exc:
            log.error("/review: could not pin: %s", exc)
            await self.core.answer_button(query, "没能固定（详见日志）")
            return
        await self.core.answer_button(query, f"已固定到 {passage}")
        await self.core.say(context, chat_id, f"已把“{item.question}”固定到段落 {passage}，下一位提问的人就会"
                                              "得到这段回答（同义的问法也一样）。")
        await self._show_next(context, chat_id)

    def _pin(self, question: str, passage: ItemRef) -> str:
        """Pin ``question`` to the passage a button names (in knowledge/ and in the running engine); its id."""
        state = self.core.engine.state
        chunk = next((c for c in state.index.chunks if passage.names(c.id)), None)
        if chunk is None:
            raise KnowledgeError(["the passage of the button is not in the loaded index any more"])
        section = state.index.content.section(chunk.section)
        self.core.engine.pin(pin_passage(question, chunk, section, self.core.settings.path("knowledge_dir"),
                                         by="telegram /review"))
        store = self.core.store
        if store is not None:
            store.record_review(question, PINNED, chunk.id)
        return chunk.id

    async def on_skip(self, update: Update, context: Context) -> None:
        press = await self._admin_press(update, parse_review_skip)
        if press is None:
            return
        query, hashed = press
        chat_id = button_chat(query)
        item = await self._question(chat_id, hashed)
        if item is not None:
            self._skipped.setdefault(chat_id, set()).add(report_key(item.question))
        await self.core.answer_button(query, "已跳过")
        await self._show_next(context, chat_id)

    async def on_none_fits(self, update: Update, context: Context) -> None:
        press = await self._admin_press(update, parse_review_none)
        if press is None:
            return
        query, hashed = press
        chat_id = button_chat(query)
        item = await self._question(chat_id, hashed)
        store = self.core.store
        if item is not None and store is not None:
            await self.core.run_sync(store.record_review, item.question, NONE_FITS)
        await self.core.answer_button(query, "已记为内容缺口")
        await self._show_next(context, chat_id)


def _text(item: ToReview, found: list[Candidate], waiting: int) -> str:
    lines = [f"待审阅 {waiting} 个。这个问题{_WHY.get(item.why, '')}：", f"“{item.question}”", "", "候选段落："]
    for number, candidate in enumerate(found, 1):
        lines.append(f"{number}. {candidate.id} {candidate.heading}\n   “{candidate.start}”")
    if not found:
        lines.append("（没有）")
    lines += ["", "点一个段落，把这个问题（和它的同义问法）固定到那段；都不合适就点“都不合适”，记为内容缺口。"]
    return "\n".join(lines)


def _keyboard(item: ToReview, found: list[Candidate]) -> InlineKeyboardMarkup:
    key = report_key(item.question)
    rows = [[InlineKeyboardButton(f"{n}. {c.id} {c.heading[:_LABEL_CHARS]}", callback_data=review_pin_data(key, c.id))]
            for n, c in enumerate(found, 1)]
    rows.append([InlineKeyboardButton("跳过", callback_data=review_skip_data(key)),
                 InlineKeyboardButton("都不合适", callback_data=review_none_data(key))])
    return InlineKeyboardMarkup(rows)
