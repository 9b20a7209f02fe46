"""Inline mode: ``@bot 问题`` typed in any chat offers the quotable answer with its source as one result.

Telegram sends an inline query as the user types, so answers are cached twice: Telegram keeps what the bot
answered for ``inline_cache_seconds`` (answerInlineQuery's cache_time), and this process keeps the results
of the last ``inline_cache_size`` questions, keyed by the normalized question and the index build that
answered it, so a rebuild is never served from the cache. The message a user sends from a result is the
quotable sentence (the asked figure in bold) and its source, rendered by ``bot.render`` like every reply;
the result's description names the sentence's section and article. An empty query gets a hint with a
button that opens a private chat with the bot.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence

from telegram import InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, InlineQueryHandler

from ..knowledge import Content
from ..normalize import looks_traditional, normalize_query
from ..render import Span, localized, telegram_messages
from ..reply import Answer
from ..text import shortened
from .base import BotCore, Context, in_script, user_script
from .cards import section_name

log = logging.getLogger(__name__)

TITLE_CHARS = 60  # a result's title is the answer itself, cut to this
DESCRIPTION_CHARS = 80
_PUNCTUATION = "?？!！。.，,；;：:~～…、 "
_CJK_SPACE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")  # 城市书房 有多少家 is 城市书房有多少家

InlineResults = list[InlineQueryResultArticle]
Key = tuple[str, bool, str]  # (the question's matching form, Traditional reply, index build id)


def cache_key(question: str, build_id: str) -> Key:
    """What makes two inline questions the same: the matching form of the words, the script the reply will be
    in, and the index build."""
    words = _CJK_SPACE.sub("", normalize_query(question)).strip(_PUNCTUATION)
    return words, looks_traditional(question), build_id


class InlineCache:
    """The last ``size`` inline answers, least recently used dropped first (0 keeps none)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._results: OrderedDict[Key, InlineResults] = OrderedDict()

    def get(self, key: Key) -> InlineResults | None:
        results = self._results.get(key)
        if results is not None:
            self._results.move_to_end(key)
        return results

    def put(self, key: Key, results: InlineResults) -> None:
        if self.size <= 0:
            return
        self._results[key] = results
        self._results.move_to_end(key)
        while len(self._results) > self.size:
            self._results.popitem(last=False)

    def __len__(self) -> int:
        return len(self._results)


def _article(key: Key, title: str, description: str, spans: Sequence[Span]) -> InlineQueryResultArticle:
    result_id = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]  # Telegram allows 64 bytes
    return InlineQueryResultArticle(
        result_id, shortened(title, TITLE_CHARS),
        InputTextMessageContent(telegram_messages(spans)[0], parse_mode=ParseMode.HTML),
        description=shortened(description, DESCRIPTION_CHARS))


def inline_results(answer: Answer, key: Key, scope: str, content: Content) -> InlineResults:
    """One result: the quotable answer and its source, described by the sentence's section (its name within its
    article, from ``content``) and article; or, when the content does not answer the question, a result
    saying so (``scope`` names the content, e.g. 《…》)."""
    traditional = answer.traditional
    if answer.answered:
        lead = answer.shown[0] if answer.shown else None
        parts = (section_name(content, lead.section), f"《{lead.article}》" if lead.article else "") if lead else ()
        description = " · ".join(part for part in parts if part)
        return [_article(key, in_script(answer.lead, traditional), in_script(description, traditional),
                         answer.quote)]
    question = answer.question.strip()
    if answer.reason == "no_figure":
        title = "文章讲到了相关内容，但没有给出这个数字"
        said = [Span(f"{scope}讲到了相关内容，但没有给出这个数字：“"), Span(question), Span("”")]
    else:
        title = "文章没有讲到这个问题"
        said = [Span(f"{scope}没有讲到“"), Span(question), Span("”。")]
    hint = f"{title}。换个说法再问，或私聊我发 /topics 看看我能回答哪些方面。"
    return [_article(key, in_script(title, traditional), in_script(hint, traditional), localized(said, traditional))]


class Inline:
    """``@bot 问题`` in any chat: the quotable answer as one result (cached); an empty query gets a hint."""

    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.cache = InlineCache(int(core.settings.inline_cache_size))

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        return [InlineQueryHandler(self.on_inline_query)]

    async def on_inline_query(self, update: Update, context: Context) -> None:
        query = update.inline_query
        if query is None:
            return
        question = " ".join(query.query.split())[:self.core.settings.max_question_chars]
        results: InlineResults = []
        button = None
        if question:
            results = await self._results(question)
        else:
            text = in_script(f"输入问题{self.core.example('，例如：')}（点这里私聊我）", user_script(update, context))
            button = InlineQueryResultsButton(text, start_parameter="inline")
        try:
            await query.answer(results, cache_time=int(self.core.settings.inline_cache_seconds), button=button)
        except BadRequest as exc:  # too old: the user typed on, a newer query is being answered
            log.info("could not answer an inline query: %s", exc)

    async def _results(self, question: str) -> InlineResults:
        engine = self.core.engine
        results = self.cache.get(cache_key(question, engine.index.build_id))
        if results is None:
            answer = await self.core.run_sync(engine.answer, question)
            key = cache_key(question, answer.build or engine.index.build_id)
            results = inline_results(answer, key, engine.state.source, engine.index.content)
            self.cache.put(key, results)
        return results
