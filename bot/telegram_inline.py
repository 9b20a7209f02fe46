"""Inline mode: ``@bot 问题`` typed in any chat offers the quotable answer with its source as one result.

Telegram sends an inline query as the user types, so answers are cached twice: Telegram keeps what the bot
answered for ``inline_cache_seconds`` (answerInlineQuery's cache_time), and this process keeps the results
of the last ``inline_cache_size`` questions, keyed by the normalized question and the index build that
answered it, so a rebuild is never served from the cache. The message a user sends from a result is the
quotable sentence (the asked figure in bold) and the source, rendered by ``bot.render`` like every reply.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence

from telegram import InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode

from .normalize import looks_traditional, normalize_query
from .render import Span, localized, plain, telegram_messages
from .reply import Answer
from .telegram_format import shortened

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


def _in_script(text: str, traditional: bool) -> str:
    return plain(localized([Span(text)], traditional))


def _article(key: Key, title: str, description: str, spans: Sequence[Span]) -> InlineQueryResultArticle:
    result_id = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]  # Telegram allows 64 bytes
    return InlineQueryResultArticle(
        result_id, shortened(title, TITLE_CHARS),
        InputTextMessageContent(telegram_messages(spans)[0], parse_mode=ParseMode.HTML),
        description=shortened(description, DESCRIPTION_CHARS))


def inline_results(answer: Answer, key: Key, scope: str) -> InlineResults:
    """One result: the quotable answer and its source, or, when the content does not answer the question,
    a result saying so (``scope`` names the content, e.g. 《…》)."""
    traditional = answer.traditional
    if answer.answered:
        heading = answer.shown[0].heading if answer.shown else ""
        articles = "、".join(f"《{s.article}》" for s in answer.sources)
        description = " · ".join(part for part in (heading, articles) if part)
        return [_article(key, _in_script(answer.lead, traditional), _in_script(description, traditional),
                         answer.quote)]
    question = answer.question.strip()
    if answer.reason == "no_figure":
        title = "文章讲到了相关内容，但没有给出这个数字"
        said = [Span(f"{scope}讲到了相关内容，但没有给出这个数字：“"), Span(question), Span("”")]
    else:
        title = "文章没有讲到这个问题"
        said = [Span(f"{scope}没有讲到“"), Span(question), Span("”。")]
    hint = f"{title}。换个说法再问，或私聊我发 /topics 看看我能回答哪些方面。"
    return [_article(key, _in_script(title, traditional), _in_script(hint, traditional), localized(said, traditional))]
