"""Replies formatted for Telegram: Answer → HTML messages of at most 4096 UTF-16 units, and keyboards.

Pure functions, tested directly: everything is escaped, bold is balanced in every part, long replies are
split at sentence ends, and a Traditional question gets its reply in Traditional characters.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from .callbacks import MAX_CALLBACK_BYTES, example_data, topic_data, vote_data
from .chunking import split_sentences
from .figures import extract_figures
from .knowledge import EXAMPLES_FILE, KnowledgeError
from .normalize import to_traditional
from .reply import Answer

log = logging.getLogger(__name__)

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit for one message's text, in UTF-16 code units, after parsing
MAX_EXAMPLE_CHARS = 40  # an example question is a button label
START_EXAMPLES = 4  # example questions offered under /start
TOPIC_BUTTON_CHARS = 28  # longer topic titles are cut on their buttons

# Split points for long replies: after a sentence end (with its closing quotes) or a newline.
_SENTENCE_BREAK = re.compile(r"[。！？!?]+[”’」』）)]*|\n")
# Where an over-long sentence may be cut when it has no sentence end: after a clause mark or a space.
_SOFT_BREAK = re.compile(r"[，,；;、：:）)\s]")


# ==============================================================================================
# Formatting: Answer → Telegram HTML messages (pure functions, tested directly)
# ==============================================================================================


@dataclass(frozen=True)
class Span:
    """A run of plain text, bold or not; a reply is a list of spans, escaped only when rendered."""

    text: str
    bold: bool = False


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (characters outside the BMP count twice)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def render(spans: Sequence[Span]) -> str:
    """Telegram HTML for ``spans``: text escaped, bold runs in <b> (empty runs dropped)."""
    out: list[str] = []
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and merged[-1].bold == span.bold:
            merged[-1] = Span(merged[-1].text + span.text, span.bold)
        else:
            merged.append(span)
    for span in merged:
        escaped = html.escape(span.text, quote=False)
        out.append(f"<b>{escaped}</b>" if span.bold else escaped)
    return "".join(out)


def _sentence_pieces(span: Span) -> list[Span]:
    """``span`` cut after each sentence end and newline (joining the pieces gives it back)."""
    pieces, start = [], 0
    for match in _SENTENCE_BREAK.finditer(span.text):
        pieces.append(Span(span.text[start:match.end()], span.bold))
        start = match.end()
    if start < len(span.text):
        pieces.append(Span(span.text[start:], span.bold))
    return pieces


def _hard_cut(span: Span, limit: int) -> list[Span]:
    """A piece longer than ``limit`` UTF-16 units cut into pieces that fit, at a clause mark or space when
    one lies in the second half of the window, else at the limit (between characters, never inside one;
    a character wider than the limit itself, which Telegram's 4096 never meets, goes alone)."""
    pieces: list[Span] = []
    text, start, length = span.text, 0, len(span.text)
    while start < length:
        units, index, soft = 0, start, 0
        while index < length:
            width = 2 if ord(text[index]) > 0xFFFF else 1
            if units + width > limit and index > start:
                break
            units += width
            index += 1
            if units > limit // 2 and _SOFT_BREAK.match(text[index - 1]):
                soft = index
        cut = soft if soft and index < length else index
        pieces.append(Span(text[start:cut], span.bold))
        start = cut
    return pieces


def split_message(spans: Sequence[Span], limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Render ``spans`` as Telegram HTML messages of at most ``limit`` UTF-16 units of text each.

    Messages break after sentence ends or newlines where possible; a tag is never split (each message is
    valid HTML on its own, bold runs are closed and reopened); joined, the messages' texts give the whole
    text back, except that a message of only whitespace is left out (Telegram refuses empty messages).
    """
    pieces: list[Span] = []
    for span in spans:
        for piece in _sentence_pieces(span):
            pieces.extend(_hard_cut(piece, limit) if utf16_len(piece.text) > limit else [piece])
    parts: list[list[Span]] = []
    current: list[Span] = []
    size = 0
    for piece in pieces:
        width = utf16_len(piece.text)
        if current and size + width > limit:
            parts.append(current)
            current, size = [], 0
        current.append(piece)
        size += width
    if current:
        parts.append(current)
    return [render(part) for part in parts if "".join(p.text for p in part).strip()]


def localize_spans(spans: Sequence[Span], traditional: bool) -> list[Span]:
    """Traditional characters for a Traditional question, applied to text only (never to markup)."""
    return [Span(to_traditional(s.text), s.bold) for s in spans] if traditional else list(spans)


def _passage_spans(answer: Answer) -> list[Span]:
    """Each shown passage under its heading in bold; passages of the same section share one heading."""
    spans: list[Span] = []
    heading = None
    for passage in answer.shown:
        if passage.heading != heading:
            spans += [Span(f"【{passage.heading}】", bold=True), Span("\n")]
            heading = passage.heading
        spans.append(Span(f"{passage.text}\n\n"))
    return spans


def answer_spans(answer: Answer, max_question_chars: int) -> list[Span]:
    """The reply to a question as spans: figures first (bold), passages under bold headings, the source."""
    spans: list[Span] = []
    if answer.truncated:
        spans.append(Span(f"（你的问题太长，我只按前 {max_question_chars} 个字回答。）\n\n"))
    if answer.abstain_reason == "no_figure":
        spans.append(Span("文章讲到了相关内容，但没有给出你问的这个数字。相关的原文是：\n\n"))
        spans += _passage_spans(answer)
        spans.append(Span(f"出处：{answer.source}\n\n也可以点下面的主题，看看文章讲了哪些方面。"))
    elif not answer.answered:
        spans.append(Span(f"抱歉，这篇文章没有讲到这个问题。\n我能回答的是{answer.source}里的内容："
                          "导语和十个实践样本。可以换个说法再问，或者点下面的主题看看。"))
    else:
        if answer.figures:
            spans.append(Span("关键数字："))
            for i, figure in enumerate(answer.figures):
                spans += [Span("　" if i else ""), Span(figure, bold=True)]
            spans.append(Span("\n\n"))
        spans += _passage_spans(answer)
        spans.append(Span(f"出处：{answer.source}"))
    return localize_spans(spans, answer.traditional)


def summary_of(paragraphs: Sequence[str], max_chars: int) -> str:
    """The section's first sentences up to ``max_chars`` (at least one sentence, cut with … if longer)."""
    summary = ""
    for sentence in (s for p in paragraphs for s in split_sentences(p)):
        if summary and len(summary) + len(sentence) > max_chars:
            break
        summary += sentence.strip()
        if len(summary) >= max_chars:
            break
    return summary if len(summary) <= max_chars else summary[:max_chars - 1] + "…"


def topic_spans(section: dict[str, Any], max_chars: int, traditional: bool = False) -> list[Span]:
    """A section's card: heading (bold), its area, a short summary and all its figures (bold)."""
    spans = [Span(section["heading"], bold=True), Span("\n")]
    if section.get("area"):
        spans.append(Span(f"（{section['area']}）\n"))
    spans.append(Span("\n" + summary_of(section["paragraphs"], max_chars)))
    figures = list(dict.fromkeys(f for p in section["paragraphs"] for f in extract_figures(p)))
    if figures:
        spans.append(Span("\n\n文中的数字："))
        for i, figure in enumerate(figures):
            spans += [Span("　" if i else ""), Span(figure, bold=True)]
    spans.append(Span("\n\n想知道细节，直接问我就行。"))
    return localize_spans(spans, traditional)


# ==============================================================================================
# Keyboards and callback data
# ==============================================================================================


def feedback_keyboard(question_id: int, tag: str, chosen: int = 0) -> InlineKeyboardMarkup:
    """👍/👎 under an answer; the chosen one is marked (pressing the other one changes the vote)."""
    up = ("✅ " if chosen == 1 else "") + "👍 有用"
    down = ("✅ " if chosen == -1 else "") + "👎 没用"
    return InlineKeyboardMarkup([[InlineKeyboardButton(up, callback_data=vote_data(1, question_id, tag)),
                                  InlineKeyboardButton(down, callback_data=vote_data(-1, question_id, tag))]])


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def topics_keyboard(sections: Sequence[dict[str, Any]], traditional: bool = False) -> InlineKeyboardMarkup:
    rows = []
    for section in sections:
        label = _short(section["heading"], TOPIC_BUTTON_CHARS)
        rows.append([InlineKeyboardButton(to_traditional(label) if traditional else label,
                                          callback_data=topic_data(section["id"]))])
    return InlineKeyboardMarkup(rows)


def examples_keyboard(examples: Sequence[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(q, callback_data=example_data(i))]
                                 for i, q in enumerate(examples[:START_EXAMPLES])])


def load_examples(knowledge_dir: Path) -> list[str]:
    """The example questions of ``knowledge_dir/examples.yaml`` (``questions: [...]``); [] if there is none."""
    path = knowledge_dir / EXAMPLES_FILE
    if not path.exists():
        log.info("no %s: /start shows no example questions", path)
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KnowledgeError([f"{EXAMPLES_FILE}: not valid YAML: {exc}"]) from None
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        raise KnowledgeError([f"{EXAMPLES_FILE}: field 'questions' must be a non-empty list of questions"])
    problems = []
    for i, question in enumerate(questions, 1):
        if not isinstance(question, str) or not question.strip():
            problems.append(f"{EXAMPLES_FILE}: field 'questions' item {i} is empty or not text")
        elif len(question.strip()) > MAX_EXAMPLE_CHARS:
            problems.append(f"{EXAMPLES_FILE}: field 'questions' item {i} is longer than {MAX_EXAMPLE_CHARS} "
                            "characters (it is shown on a button)")
    if problems:
        raise KnowledgeError(problems)
    return [q.strip() for q in questions]
