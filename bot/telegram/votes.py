"""Feedback: 👍/👎 under each answer, what was wrong after a 👎, and ``/feedback 文字`` comments.

A vote is stored with the hashed user (``bot.store``) and only from the chat the answer went to (the
button's tag binds it). After a 👎 the bot asks what was wrong: one tap on a reason, or a reply in words to
the prompt, stored with the vote; the reply is taken before anything treats it as a question. Which prompt
asks about which question is kept in the store (``Store.remember_prompt``), so a reply that reaches another
replica than the one that sent the prompt is recognised all the same.
"""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import MaybeInaccessibleMessage, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from ..store import DOWN_REASONS
from .base import EXPIRED, BotCore, Context, button_chat, in_script, message_text, quoted_in_groups, user_script
from .buttons import REASON, VOTE, parse_reason, parse_vote
from .keyboards import feedback_keyboard, reason_keyboard

log = logging.getLogger(__name__)

PROMPTS_KEPT = 20  # per chat: the latest prompts a reply in words is matched to


class Votes:
    def __init__(self, core: BotCore) -> None:
        self.core = core

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        return [CommandHandler("feedback", self.on_comment, filters=filters.UpdateType.MESSAGE),
                CallbackQueryHandler(self.on_vote, pattern=VOTE),
                CallbackQueryHandler(self.on_reason, pattern=REASON)]

    def reason_text_handler(self) -> BaseHandler[Update, Context, None]:
        """For a group before questions: a reply in words to a "what was wrong?" prompt."""
        return MessageHandler(filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND,
                              self.on_reason_text)

    async def on_vote(self, update: Update, context: Context) -> None:
        press = await self.core.pressed(update, parse_vote)
        if press is None:
            return
        query, pressed = press
        store = self.core.store
        if store is None or query.message is None:
            await self.core.answer_button(query, EXPIRED)
            return
        vote, question_id = pressed.vote, pressed.question_id
        # only from the chat the answer went to: the tag binds the row to that chat
        result = await self.core.run_sync(store.vote, question_id, query.from_user.id, vote,
                                          query.message.chat.id, pressed.tag)
        if not result.stored:
            await self.core.answer_button(query, "这条回答太旧了，无法反馈" if result.problem == "unknown"
                                          else "反馈暂时没保存成功，请稍后再试")
            return
        if result.previous != vote:
            if vote == 1:
                self.core.stats.votes_up += 1
            else:
                self.core.stats.votes_down += 1
        await self.core.answer_button(query, "谢谢反馈！" if result.previous in (None, vote) else "已改好，谢谢反馈！")
        traditional = user_script(update, context, message_text(query.message))  # the buttons match their answer
        try:
            await query.edit_message_reply_markup(feedback_keyboard(question_id, pressed.tag, chosen=vote,
                                                                    traditional=traditional))
        except BadRequest as exc:  # "message is not modified" when the same button is pressed again
            log.debug("feedback keyboard not edited: %s", exc)
        if vote == -1 and result.previous != -1:
            await self._ask_what_was_wrong(context, button_chat(query), query.message, question_id, traditional)

    async def _ask_what_was_wrong(self, context: Context, chat_id: int, answer: MaybeInaccessibleMessage,
                                  question_id: int, traditional: bool) -> None:
        """After a 👎: one-tap reasons under a prompt; a reply to the prompt in words is stored too."""
        store = self.core.store
        if store is None:
            return
        quote = ReplyParameters(answer.message_id, allow_sending_without_reply=True) \
            if answer.chat.type != ChatType.PRIVATE else None  # which answer the prompt is about, in a group
        text = html.escape(in_script("哪里不对？点一下下面的按钮，或者回复这条消息写几个字。", traditional))
        prompt = await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                                reply_markup=reason_keyboard(question_id, traditional=traditional),
                                                reply_parameters=quote)
        await asyncio.to_thread(store.remember_prompt, chat_id, prompt.message_id, question_id, PROMPTS_KEPT)

    async def on_reason(self, update: Update, context: Context) -> None:
        """A tap on a reason under the "what was wrong?" prompt: stored with the user's 👎."""
        press = await self.core.pressed(update, parse_reason)
        if press is None:
            return
        query, pressed = press
        store = self.core.store
        if pressed.reason not in DOWN_REASONS or store is None:
            await self.core.answer_button(query, EXPIRED)
            return
        traditional = user_script(update, context, message_text(query.message))
        stored = await self.core.run_sync(store.explain_vote, pressed.question_id, query.from_user.id, pressed.reason)
        if not stored:
            await self.core.answer_button(query, "请先在回答下面点 👎，再说哪里不对")
            return
        thanks = "谢谢！想多说几句，就回复这条消息。" if pressed.reason == "other" else "谢谢，已记下！"
        await self.core.answer_button(query, in_script(thanks, traditional))
        if query.message is not None:
            try:
                await query.edit_message_reply_markup(reason_keyboard(pressed.question_id, pressed.reason, traditional))
            except BadRequest as exc:  # the same reason tapped again
                log.debug("reason keyboard not edited: %s", exc)

    async def on_reason_text(self, update: Update, context: Context) -> None:
        """A reply in words to a "what was wrong?" prompt: stored with the 👎 and not taken as a question.
        Any other message goes on to the usual handlers."""
        message = update.effective_message
        user = update.effective_user
        store = self.core.store
        replied = message.reply_to_message if message is not None else None
        words = (message.text or "").strip() if message is not None else ""
        if message is None or user is None or store is None or not words or replied is None \
                or replied.from_user is None or replied.from_user.id != context.bot.id:  # prompts are the bot's
            return
        question_id = await asyncio.to_thread(store.prompted_question, message.chat_id, replied.message_id)
        if question_id is None:
            return
        stored = await self.core.run_sync(store.explain_vote, question_id, user.id, "", words)
        text = "谢谢，你说的我们记下了，会用来改进回答。" if stored else "抱歉，没能记下（请先在回答下面点 👎）。"
        await self.core.say(context, message.chat_id, text, user_script(update, context, words), reply_to=message)
        raise ApplicationHandlerStop

    async def on_comment(self, update: Update, context: Context) -> None:
        """``/feedback 文字``: a free comment for the editors, stored with the hashed user."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return
        parts = message.text.split(maxsplit=1)
        comment = parts[1].strip() if len(parts) > 1 else ""
        store = self.core.store
        if not comment:
            text = "用法：/feedback 你的意见，例如 /feedback 希望多讲讲办事流程。"
        elif store is not None and await self.core.run_sync(store.add_comment, user.id, comment,
                                                            self.core.engine.index.build_id):
            text = "谢谢！你的意见已经记下，编辑会看到。"
        else:
            text = "抱歉，意见暂时没保存成功，请稍后再试。"
        await self.core.say(context, message.chat_id, text, user_script(update, context, comment),
                            reply_to=quoted_in_groups(message))
