"""The one renderer: a reply's spans → plain text (terminal, `ask --json`, eval) or Telegram HTML messages.

What a reply says is decided once, as spans (``bot.reply`` for answers, the Telegram app for its cards); this
module only decides how each kind of span looks. So the terminal, the scores and Telegram show the same words.
Telegram parts are at most 4096 UTF-16 units, split at sentence ends, every tag balanced in every part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .normalize import to_traditional
from .text import FULL_STOP

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit for one message's text, in UTF-16 code units, after parsing

SpanKind = Literal["text", "strong", "figure", "heading", "source"]
# kinds shown in bold on Telegram; plain text shows every kind as its words
_BOLD: frozenset[str] = frozenset({"strong", "figure", "heading"})

# Split points for long replies: after a sentence end (with its closing quotes) or a newline.
_SENTENCE_BREAK = re.compile(f"{FULL_STOP.pattern}|\n")
# Where an over-long sentence may be cut when it has no sentence end: after a clause mark or a space.
_SOFT_BREAK = re.compile(r"[，,；;、：:）)\s]")


@dataclass(frozen=True)
class Span:
    """A run of reply text and what it is: plain text, emphasis, a figure, a heading or the source line."""

    text: str
    kind: SpanKind = "text"

    @property
    def bold(self) -> bool:
        return self.kind in _BOLD


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (characters outside the BMP count twice)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def localized(spans: Sequence[Span], traditional: bool) -> list[Span]:
    """Traditional characters for a Traditional question, applied to the words only (kinds stay)."""
    return [Span(to_traditional(s.text), s.kind) for s in spans] if traditional else list(spans)


def plain(spans: Sequence[Span]) -> str:
    """The reply as plain text: every span's words, nothing added."""
    return "".join(span.text for span in spans).strip()


def html_of(spans: Sequence[Span]) -> str:
    """Telegram HTML for ``spans``: text escaped, bold kinds in <b> (empty runs dropped, neighbours merged,
    the spaces and line breaks at either end of a bold run left outside it)."""
    out: list[str] = []
    runs: list[tuple[bool, str]] = []
    for span in spans:
        if not span.text:
            continue
        if runs and runs[-1][0] == span.bold:
            runs[-1] = (span.bold, runs[-1][1] + span.text)
        else:
            runs.append((span.bold, span.text))
    for bold, text in runs:
        escaped = html.escape(text, quote=False)
        words = escaped.strip()
        if bold and words:  # whitespace needs no escaping: it is the same on both sides
            start = escaped.index(words)
            escaped = f"{escaped[:start]}<b>{words}</b>{escaped[start + len(words):]}"
        out.append(escaped)
    return "".join(out)


def _sentence_pieces(span: Span) -> list[Span]:
    """``span`` cut after each sentence end and newline (joining the pieces gives it back)."""
    pieces, start = [], 0
    for match in _SENTENCE_BREAK.finditer(span.text):
        pieces.append(Span(span.text[start:match.end()], span.kind))
        start = match.end()
    if start < len(span.text):
        pieces.append(Span(span.text[start:], span.kind))
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
        pieces.append(Span(text[start:cut], span.kind))
        start = cut
    return pieces


def telegram_messages(spans: Sequence[Span], limit: int = MAX_MESSAGE_UTF16) -> list[str]:
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
    return [html_of(part) for part in parts if "".join(p.text for p in part).strip()]
