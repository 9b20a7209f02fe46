"""What the bot knows: /start (with example questions, or a topic's card from a deep link), /help, /topics
(the sections as buttons, an article per header, in pages), topic cards, /about.

``/start <payload>`` from ``t.me/<bot>?start=s8`` (``bot.telegram.links``) opens that topic's card; a payload
naming no loaded topic greets as usual. Every text follows the user's script (``base.user_script``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from ..errors import KnowledgeError
from ..knowledge import EXAMPLES_FILE, Section, parse_examples, read_yaml
from ..render import telegram_messages
from .base import EXPIRED, BotCore, Context, button_chat, message_text, user_script
from .buttons import ARTICLE, EXAMPLE, MENU, PAGE, TOPIC, parse_article, parse_example, parse_page, parse_topic
from .cards import (
    about_spans,
    article_notice,
    find_section,
    greeting_spans,
    linked_section,
    topic_spans,
    topics_intro_spans,
    topics_keyboard,
)
from .keyboards import examples_keyboard
from .questions import Questions

log = logging.getLogger(__name__)

HELP = ("用法：\n"
        "· 私聊时直接发问题{example}\n"
        "· 在群里请 @我、回复我的消息，或者用 /ask 问题\n"
        "· 改了发出的问题，我会按改过的再回答一次\n"
        "· 每个回答下面有 👍/👎，告诉我们答得好不好\n"
        "· 在任何聊天里输入 @{username} 问题，可以把答案直接发给别人\n\n"
        "命令：\n"
        "/topics 文章讲了哪些方面\n/about 内容来源和索引版本\n/ask 提问（群里用）\n"
        "/feedback 意见 给编辑留言\n/help 本帮助\n\n"
        "回答只来自文章原文；文章没讲到的，我会直说。繁体提问，就用繁体回答。")


def load_examples(knowledge_dir: Path) -> list[str]:
    """The example questions of ``knowledge_dir/examples.yaml`` (``questions: [...]``); [] if there is none."""
    path = knowledge_dir / EXAMPLES_FILE
    if not path.exists():
        log.info("no %s: /start shows no example questions", path)
        return []
    problems: list[str] = []
    readable, data = read_yaml(path, EXAMPLES_FILE, problems)
    questions, errors = parse_examples(data, EXAMPLES_FILE) if readable else ([], [])
    if problems or errors:
        raise KnowledgeError(problems + errors)
    return questions


class Topics:
    def __init__(self, core: BotCore, questions: Questions) -> None:
        self.core = core
        self.questions = questions

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        new_messages = filters.UpdateType.MESSAGE
        return [
            CommandHandler("start", self.on_start, filters=new_messages),
            CommandHandler("help", self.on_help, filters=new_messages),
            CommandHandler("topics", self.on_topics, filters=new_messages),
            CommandHandler("about", self.on_about, filters=new_messages),
            CallbackQueryHandler(self.on_topic, pattern=TOPIC),
            CallbackQueryHandler(self.on_article, pattern=ARTICLE),
            CallbackQueryHandler(self.on_topics_page, pattern=PAGE),
            CallbackQueryHandler(self.on_menu, pattern=MENU),
            CallbackQueryHandler(self.on_example, pattern=EXAMPLE),
        ]

    async def _send_card(self, update: Update, context: Context, chat_id: int, section: Section) -> None:
        """A section's card, in the user's script."""
        settings = self.core.settings
        spans = topic_spans(section, int(settings.topic_summary_chars), int(settings.topic_max_figures),
                            user_script(update, context))
        await self.core.send(context, chat_id, telegram_messages(spans))

    async def on_start(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        if context.args and await self._open_deep_link(update, context, chat.id, context.args[0]):
            return
        examples = self.core.examples
        spans = greeting_spans(self.core.engine.index.content, bool(examples), user_script(update, context))
        await self.core.send(context, chat.id, telegram_messages(spans),
                             examples_keyboard(examples) if examples else None)

    async def _open_deep_link(self, update: Update, context: Context, chat_id: int, payload: str) -> bool:
        """``/start <payload>`` from a link: that topic's card; False for a payload naming no loaded topic
        (the caller greets as usual)."""
        section = linked_section(self.core.engine.index.content, payload)
        if section is None:
            log.info("start link to an unknown topic (%d characters): greeting instead", len(payload))
            return False
        await self._send_card(update, context, chat_id, section)
        return True

    async def on_help(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is not None:
            text = HELP.format(example=self.core.example("，例如："), username=context.bot.username)
            await self.core.say(context, chat.id, text, user_script(update, context))

    async def on_topics(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is not None:
            await self._send_topics(update, context, chat.id)

    async def on_menu(self, update: Update, context: Context) -> None:
        """The button under a decline: the /topics list, as a message of its own."""
        query = update.callback_query
        if query is None:
            return
        await self.core.answer_button(query)
        await self._send_topics(update, context, button_chat(query))

    async def _send_topics(self, update: Update, context: Context, chat_id: int) -> None:
        traditional = user_script(update, context)
        content = self.core.engine.index.content
        await self.core.send(context, chat_id, telegram_messages(topics_intro_spans(content, traditional)),
                             topics_keyboard(content, traditional))

    async def on_topics_page(self, update: Update, context: Context) -> None:
        """◀/▶ under /topics: show another page of the same list in the same message."""
        press = await self.core.pressed(update, parse_page)
        if press is None:
            return
        query, page = press
        await self.core.answer_button(query)
        if query.message is None:
            return
        traditional = user_script(update, context, message_text(query.message))
        try:
            await query.edit_message_reply_markup(topics_keyboard(self.core.engine.index.content, traditional, page))
        except BadRequest as exc:  # "message is not modified": a retried press of the page shown already
            log.info("topics page not changed: %s", exc)

    async def on_article(self, update: Update, context: Context) -> None:
        """An article's header in the /topics list: a notice naming the article and how many parts it has."""
        press = await self.core.pressed(update, parse_article)
        if press is None:
            return
        query, ref = press
        traditional = user_script(update, context, message_text(query.message))
        notice = article_notice(self.core.engine.index.content, ref, traditional)
        await self.core.answer_button(query, notice or "这篇文章已不在当前内容里")

    async def on_topic(self, update: Update, context: Context) -> None:
        press = await self.core.pressed(update, parse_topic)
        if press is None:
            return
        query, ref = press
        section = find_section(self.core.engine.index.content, ref)
        if section is None:
            await self.core.answer_button(query, "这个主题已不在当前内容里")
            return
        await self.core.answer_button(query)
        await self._send_card(update, context, button_chat(query), section)

    async def on_example(self, update: Update, context: Context) -> None:
        press = await self.core.pressed(update, parse_example)
        if press is None:
            return
        query, index = press
        if not 0 <= index < len(self.core.examples):
            await self.core.answer_button(query, EXPIRED)
            return
        await self.core.answer_button(query)
        await self.questions.answer_question(update, context, self.core.examples[index])

    async def on_about(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        index = self.core.engine.index
        spans = about_spans(index.content, index.manifest, user_script(update, context))
        await self.core.send(context, chat.id, telegram_messages(spans))
