"""Questions: what users ask, answered as ``python -m bot chat`` answers them, rendered as Telegram HTML.

A text message in a private chat is a question; in groups the bot answers only when @mentioned, when the
message replies to one of its messages, or via ``/ask 问题``. An *edited* question is answered again (a new
reply quoting the edited message), so fixing a typo gets a fixed answer. The reply is ``bot.conversation``'s
(small talk, several questions, follow-ups in the chat's context), split into messages of at most 4096
UTF-16 units, in Traditional characters when the question was; 👍/👎 under an answer, one button to the
topics under a decline. Each user may ask rate_limit_per_minute questions a minute.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import MutableMapping
from typing import Any

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from ..conversation import Conversation, Response
from ..render import telegram_messages
from .base import BotCore, Context, quoted_in_groups, user_script
from .keyboards import decline_keyboard, feedback_keyboard

log = logging.getLogger(__name__)

Handler = BaseHandler[Update, Context, None]


class Questions:
    """Answers questions; ``answer_question`` is also how an example button asks its question."""

    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.conversation = Conversation(core.engine, core.settings)
        self.limiter = core.rate_limiter("questions", int(core.settings.rate_limit_per_minute))

    def handlers(self) -> list[Handler]:
        return [CommandHandler("ask", self.on_ask, filters=filters.UpdateType.MESSAGES)]

    def last_handlers(self) -> list[Handler]:
        """Registered after every command: text is a question, any other command or message gets a hint."""
        new_messages = filters.UpdateType.MESSAGE
        return [
            MessageHandler(filters.UpdateType.MESSAGES & filters.TEXT & ~filters.COMMAND, self.on_text),
            MessageHandler(new_messages & filters.COMMAND, self.on_unknown_command),
            MessageHandler(new_messages & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_non_text),
        ]

    def _respond_and_record(self, message: str, user_id: int, chat_id: int,
                            memory: MutableMapping[str, Any]) -> tuple[Response, int | None, str]:
        """The reply to a message in its chat's context; each question it held is recorded (small talk is not:
        it is no unanswered question). The row id and vote tag returned are the first answered question's,
        for the buttons (None, "" when the store kept none): the answer never depends on the store."""
        response = self.conversation.respond(message, memory)
        first_id, tag = None, ""
        store = self.core.store
        if store is None:
            return response, first_id, tag
        for answer in response.answers:
            stored = answer.question[:self.core.settings.max_question_chars]
            try:
                question_id = store.record_question(
                    user_id, stored, answer.answered, answer.reason, [p.id for p in answer.passages],
                    answer.build or self.core.engine.index.build_id, shown=answer.lead or answer.reply)
                if answer.answered and first_id is None and question_id is not None:
                    first_id, tag = question_id, store.vote_tag(question_id, chat_id, stored)
            except Exception as exc:  # the store logs its own failures; anything else is logged here
                log.error("feedback store: could not record a question: %s: %s", type(exc).__name__, exc)
                return response, None, ""
        return response, first_id, tag

    async def answer_question(self, update: Update, context: Context, question: str) -> None:
        core = self.core
        message = update.effective_message
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None:
            return
        quote = message if message is not None and (chat.type != ChatType.PRIVATE or update.edited_message) \
            else None
        limited = await asyncio.to_thread(self.limiter.check, user.id)
        if not limited.allowed:
            core.stats.rate_limited += 1
            log.info("rate limit: user %s asked too often", core.hash_user(user.id))
            if limited.tell:
                wait = max(1, round(limited.wait))
                await core.say(context, chat.id, f"你问得有点快，请休息一下，{wait} 秒后再问吧。",
                               user_script(update, context, question), reply_to=quote)
            return
        # the worker thread gets a copy of the chat's memory: persistence copies chat_data on the event loop
        memory = dict(context.chat_data or {})
        typing = asyncio.create_task(core.typing(context, chat.id))
        response, question_id, tag = await core.run_sync(self._respond_and_record, question, user.id, chat.id,
                                                         memory)
        if context.chat_data is not None:
            context.chat_data.update(memory)
        await typing  # the indicator goes out before the answer, never after it
        for answer in response.answers:
            if answer.answered:
                core.stats.answered += 1
            else:
                core.stats.abstained += 1
                core.stats.no_figure += answer.reason == "no_figure"
        if context.user_data is not None:
            context.user_data.traditional = response.traditional
        markup: InlineKeyboardMarkup | None = None
        if response.kind == "smalltalk":
            markup = None
        elif any(answer.answered for answer in response.answers):
            markup = feedback_keyboard(question_id, tag, traditional=response.traditional) \
                if question_id is not None else None
        else:
            markup = decline_keyboard(response.traditional)
        await core.send(context, chat.id, telegram_messages(response.spans, core.message_limit), markup, reply_to=quote)

    @staticmethod
    def _group_question(message: Message, context: Context) -> str | None:
        """The question in a group message addressed to the bot (mention or reply), else None."""
        bot = context.bot
        text = message.text or ""
        mention = f"@{bot.username}".lower() if bot.username else None
        entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        mentioned = any((e.type == MessageEntity.MENTION and value.lower() == mention)
                        or (e.type == MessageEntity.TEXT_MENTION and e.user and e.user.id == bot.id)
                        for e, value in entities.items())
        if not (mentioned or _replies_to_bot(message, context)):
            return None
        if mention:
            text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
        return text.strip()

    async def on_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        question = message.text if message.chat.type == ChatType.PRIVATE else self._group_question(message, context)
        if question is None:
            return  # group chatter not meant for the bot
        if not question.strip():
            await self.core.say(context, message.chat_id, f"请直接写出你的问题{self.core.example('，例如：')}",
                                user_script(update, context), reply_to=message)
            return
        await self.answer_question(update, context, question)

    async def on_ask(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        parts = message.text.split(maxsplit=1)
        question = parts[1].strip() if len(parts) > 1 else ""
        if not question:
            await self.core.say(context, message.chat_id, f"用法：/ask 你的问题{self.core.example('，例如 /ask ')}",
                                user_script(update, context), reply_to=quoted_in_groups(message))
            return
        await self.answer_question(update, context, question)

    async def on_non_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or (message.chat.type != ChatType.PRIVATE and not _replies_to_bot(message, context)):
            return
        text = f"我只能看懂文字。请用文字发问题给我{self.core.example('，例如：')}"
        await self.core.say(context, message.chat_id, text, user_script(update, context),
                            reply_to=quoted_in_groups(message))

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            await self.core.say(context, message.chat_id, "没有这个命令。发 /help 看看我能做什么，或者直接提问。",
                                user_script(update, context))


def _replies_to_bot(message: Message, context: Context) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == context.bot.id)
