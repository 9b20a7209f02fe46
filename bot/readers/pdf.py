"""PDF: the text layer read back into paragraphs in reading order.

pypdf gives each piece of text with its position and type size (it decodes CID fonts through their
predefined CMaps, as government PDFs set in 宋体 without an embedded font need; docs/content.md has the
measurement behind the choice). From those pieces this module rebuilds what a reader sees:

* lines: pieces on one baseline, split where a gap wider than a character separates two columns;
* running headers, footers and page numbers: lines among the top or bottom two of a page whose wording
  (digits aside) recurs on at least half of the pages, and page-number lines (``- 3 -``, ``第3页 共9页``);
* reading order: a page whose lines leave a vertical gutter free is read column by column, lines that cross
  the gutter (a headline over both columns) in their place between the column bands;
* paragraphs: a line continues the one before unless that one stopped short of the column's right edge, the
  line is indented, its type size differs, a wider gap stands before it, or it begins with a heading's
  numbering (一、 （一） 第X章) after a finished sentence; the layout's line breaks are
  joined without a space (1 / .6万 → 1.6万), except between two Latin letters;
* kinds: the first block in the largest type on the first page is the TITLE, other blocks in a type larger
  than the body's are HEADINGs (levels by size); numbered headings in body type (一、 （一） 第X章) are
  found by the importer from their wording, as in every format.

A PDF without a text layer (a scan) is refused with a message: there is no OCR here.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ReadError
from ..text import CLOSING_QUOTES, SENTENCE_END_MARKS
from . import (
    HEADING,
    NUMBERED_HEADING,
    NUMERAL,
    TEXT,
    TITLE,
    Block,
    Metadata,
    ReadLimits,
    author_names,
    normalized_date,
    refuse_if_larger,
)

_PAGE_NUMBER = re.compile(r"^[-—–·\s]*(?:第\s*)?\d+\s*页?\s*(?:(?:/|共)\s*\d+\s*页?)?[-—–·\s]*$"
                          r"|^page\s*\d+(?:\s*of\s*\d+)?$", re.I)
_LATIN = re.compile(r"[A-Za-z]")
_SENTENCE_END = re.compile(f"[{SENTENCE_END_MARKS}：:][{CLOSING_QUOTES}]*$")  # ends a sentence or a lead-in
_HEADING_START = re.compile(rf"^(?:{NUMBERED_HEADING}|第[{NUMERAL}\d]+[章节部分篇条])")
_PLACEHOLDER_TITLES = frozenset({"untitled", "无标题", "unspecified"})
MARGIN_LINES = 2  # lines at the top and at the bottom of a page that may be running headers or footers


@dataclass
class _Line:
    page: int
    x0: float
    x1: float  # estimated end (estimated: full-width CJK and punctuation, half-width Latin)
    y: float
    size: float
    text: str
    left: float = 0.0  # the edges of the column (or page) the line stands in
    right: float = 0.0


def _width(text: str, size: float) -> float:
    return sum(size if ord(char) >= 0x2000 else size * 0.5 for char in text)  # CJK fonts set “…” full-width


def _pieces(page: Any) -> list[tuple[float, float, float, str]]:
    """(x, y, type size, text) of every piece of text pypdf reports on the page."""
    pieces: list[tuple[float, float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, font_size: float) -> None:
        if not text.strip():
            return
        # text space → page space: the text matrix, then the current transformation matrix
        c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        size = abs(font_size) * (math.hypot(c, d) or 1.0)
        for n, piece in enumerate(text.split("\n")):
            if piece.strip():
                pieces.append((x, y - n * size * 1.2, size, piece))

    page.extract_text(visitor_text=visit)
    return pieces


def _lines(page_number: int, pieces: list[tuple[float, float, float, str]]) -> list[_Line]:
    """Pieces on one baseline, joined; a gap wider than a character separates two columns' lines."""
    lines: list[_Line] = []
    pieces = sorted(pieces, key=lambda p: -p[1])
    row: list[tuple[float, float, float, str]] = []
    for piece in [*pieces, None]:
        if piece is not None and (not row or abs(row[0][1] - piece[1]) <= 0.4 * min(row[0][2], piece[2])):
            row.append(piece)
            continue
        current: _Line | None = None
        for x, y, size, text in sorted(row, key=lambda p: p[0]):
            gap = x - current.x1 if current is not None else 0.0
            if current is not None and gap <= min(size, current.size):
                joiner = " " if gap > 0.25 * size and not current.text.endswith(" ") else ""
                current.text += joiner + text
                current.x1 = max(current.x1, x + _width(text, size))
                current.size = max(current.size, size)
            else:
                current = _Line(page_number, x, x + _width(text, size), y, size, text)
                lines.append(current)
        row = [piece] if piece is not None else []
    return lines


def _body_size(lines: list[_Line]) -> float:
    """The type size most of the text is set in."""
    by_chars: Counter[float] = Counter()
    for line in lines:
        by_chars[round(line.size, 1)] += len(line.text)
    return by_chars.most_common(1)[0][0] if by_chars else 0.0


def _without_margins(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Each page without its running header, footer and page number: among the top and bottom lines of a
    page, those whose wording (digits aside) recurs on half of the pages, page numbers, and a first or last
    line in smaller type set apart from the body by a gap (a header on the only page that has one)."""
    body = _body_size([line for lines in pages for line in lines])

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))

    def margin(lines: list[_Line]) -> list[_Line]:
        return lines[:MARGIN_LINES] + lines[-MARGIN_LINES:] if len(lines) > 2 * MARGIN_LINES else lines

    def set_apart(line: _Line, neighbour: _Line | None) -> bool:
        return line.size < body * 0.95 and (neighbour is None or abs(line.y - neighbour.y) > 2.5 * body)

    recurring = Counter(k for lines in pages for k in {key(line) for line in margin(lines)})
    enough = max(2, math.ceil(len(pages) / 2))
    kept = []
    for lines in pages:
        dropped = {id(line) for line in margin(lines)
                   if _PAGE_NUMBER.match(line.text.strip()) or recurring[key(line)] >= enough}
        if lines and set_apart(lines[0], lines[1] if len(lines) > 1 else None):
            dropped.add(id(lines[0]))
        if len(lines) > 1 and set_apart(lines[-1], lines[-2]):
            dropped.add(id(lines[-1]))
        kept.append([line for line in lines if id(line) not in dropped])
    return kept


def _edges(lines: list[_Line]) -> tuple[float, float]:
    """Where the lines of a column start and end: the usual start (most lines begin at the margin) and a
    high share of the estimated ends (estimates of lines with Latin letters and digits scatter both ways)."""
    starts = Counter(round(line.x0) for line in lines)
    ends = sorted(line.x1 for line in lines)
    return float(starts.most_common(1)[0][0]), ends[int(len(ends) * 0.7)]


def _reading_order(lines: list[_Line], page_width: float) -> list[_Line]:
    """The page's lines as they are read: by column where a gutter runs down the page."""
    if not lines:
        return []
    gutter, best = None, (len(lines), 0)
    for step in range(int(page_width * 0.3), int(page_width * 0.7), 2):
        crossing = sum(1 for line in lines if line.x0 < step < line.x1)
        left = sum(1 for line in lines if line.x1 <= step)
        right = sum(1 for line in lines if line.x0 >= step)
        if min(left, right) >= 3 and crossing <= 0.25 * len(lines) and (crossing, -min(left, right)) < best:
            gutter, best = step, (crossing, -min(left, right))
    page_left, page_right = _edges(lines)
    if gutter is None:
        for line in lines:
            line.left, line.right = page_left, page_right
        return lines
    for column in ([line for line in lines if line.x1 <= gutter], [line for line in lines if line.x0 >= gutter]):
        column_left, column_right = _edges(column)
        for line in column:
            line.left, line.right = column_left, column_right
    ordered: list[_Line] = []
    band: list[_Line] = []
    for next_line in [*lines, None]:  # lines are sorted top to bottom
        if next_line is not None and not (next_line.x0 < gutter < next_line.x1):
            band.append(next_line)
            continue
        ordered += [b for b in band if b.x1 <= gutter] + [b for b in band if b.x0 >= gutter]
        band = []
        if next_line is not None:  # crossing the gutter: a headline or a full-width line between bands
            next_line.left, next_line.right = page_left, page_right
            ordered.append(next_line)
    return ordered


def _joined(before: str, after: str) -> str:
    """Two lines of one paragraph: a layout break joins without a space, except between Latin words."""
    space = _LATIN.match(before[-1:]) and _LATIN.match(after[:1])
    return before + (" " if space else "") + after


def _blocks(lines: list[_Line]) -> list[Block]:
    """Lines in reading order → paragraphs with their kind (see the module docstring)."""
    if not lines:
        return []
    body = _body_size(lines)
    steps = [a.y - b.y for a, b in zip(lines, lines[1:])
             if a.page == b.page and a.left == b.left and abs(a.size - body) < 0.5 and abs(b.size - body) < 0.5
             and 0 < a.y - b.y < 3 * body]
    spacing = statistics.median(steps) if steps else 1.6 * body
    paragraphs: list[tuple[float, str]] = []  # type size, text
    previous: _Line | None = None
    for line in lines:
        larger = line.size > body * 1.05
        continues = previous is not None and abs(previous.size - line.size) <= 0.05 * line.size \
            and previous.x1 >= previous.right - 2 * line.size \
            and (larger or line.x0 <= line.left + 0.8 * line.size) \
            and not (_SENTENCE_END.search(paragraphs[-1][1]) and _HEADING_START.match(line.text.strip())) \
            and not (previous.page == line.page and previous.left == line.left
                     and previous.y - line.y > 1.4 * spacing * line.size / body)
        if continues:
            paragraphs[-1] = (paragraphs[-1][0], _joined(paragraphs[-1][1], line.text.strip()))
        else:
            paragraphs.append((line.size, line.text.strip()))
        previous = line
    heading_sizes = sorted({size for size, _ in paragraphs if size > body * 1.05}, reverse=True)
    blocks = []
    for n, (size, text) in enumerate(paragraphs):
        text = " ".join(text.split())
        if n == 0 and heading_sizes and size > body * 1.15 and lines[0].page == 0:
            blocks.append(Block(text, TITLE))
        elif size > body * 1.05:
            blocks.append(Block(text, HEADING, level=heading_sizes.index(size) + 1, emphasis=True))
        else:
            blocks.append(Block(text, TEXT))
    return blocks


def _properties(reader: Any) -> Metadata:
    """Title, author and creation date from the document information (a fallback for the importer)."""
    try:
        info = reader.metadata or {}
    except Exception:  # damaged document information: the text is still worth reading
        return Metadata()
    author = str(info.get("/Author") or "").strip()
    title = str(info.get("/Title") or "").strip()
    title = "" if title.lower() in _PLACEHOLDER_TITLES else title
    if author.lower() == "anonymous":  # reportlab's defaults, not the document's
        return Metadata(title=title)
    return Metadata(title=title, authors=author_names(author),
                    date=normalized_date(str(info.get("/CreationDate") or "")))


def read_pdf(path: Path, limits: ReadLimits) -> tuple[Metadata, list[Block]]:
    """Blocks of a PDF's text layer in reading order, and its document information."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    refuse_if_larger(path, limits.max_pdf_mb, "PDF files", "import_max_pdf_mb")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on repaired damage are not for maintainers
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError(f"{path}: the PDF is password-protected; save an unprotected copy and import that")
        pages, widths = [], []
        for number, page in enumerate(reader.pages):
            pages.append(_lines(number, _pieces(page)))
            widths.append(float(page.mediabox.width))
        meta = _properties(reader)
    except ReadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError,
            RecursionError, NotImplementedError) as exc:
        raise ReadError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})"[:300]) from None
    if not any(pages):
        raise ReadError(f"{path}: the PDF has no text layer (a scan?); there is no OCR here: import a .docx or "
                        ".txt of it instead")
    ordered = [line for lines, width in zip(_without_margins(pages), widths)
               for line in _reading_order(lines, width)]
    return meta, _blocks(ordered)
