"""Article files made for tests and benchmarks: Chinese PDFs (reportlab's built-in CID font STSong-Light,
so no font file is needed), in the layouts government PDFs come in.

A PDF is laid out the way a word processor prints it: a headline in a larger size, byline lines, paragraphs
with a two-character first-line indent broken into lines at the column's width (so a figure such as 1.6万 may
be split over two lines), headings in a larger size or as plain lines, optionally two columns, a running
header and a page number in the margins. ``scanned=True`` draws every page as a picture with no text layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

FONT = "STSong-Light"
PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 72.0
GUTTER = 24.0


@dataclass
class PdfLayout:
    """How the article is set on the page."""

    columns: int = 1
    body_size: float = 11.0
    heading_size: float = 13.0  # equal to body_size: headings set like body lines (found by their numbering)
    headline_size: float = 18.0
    running_header: str = ""  # printed at the top of every page but the first
    page_numbers: bool = True  # "- n -" at the bottom of every page
    scanned: bool = False  # pages as pictures only (no text layer)
    rows_first: bool = False  # lines drawn row by row across the columns (reading order is not drawing order)
    author_property: str = ""  # the document information's author (reportlab's 'anonymous' when empty)


@dataclass
class PdfArticle:
    headline: str
    byline: list[str] = field(default_factory=list)  # lines under the headline (记者 …, 发布时间：…)
    lead: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # heading, paragraphs


def wrapped(text: str, width: float, size: float, indent: float) -> list[str]:
    """``text`` broken into lines of at most ``width`` points, character by character (as CJK text breaks)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line, used = [], "", indent
    for char in text:
        advance = stringWidth(char, FONT, size)
        if line and used + advance > width:
            lines.append(line)
            line, used = "", 0.0
        line += char
        used += advance
    return [*lines, line] if line else lines


def write_pdf(path: Path, article: PdfArticle, layout: PdfLayout | None = None) -> Path:
    """Write ``article`` to ``path`` as a PDF set in ``layout``; returns ``path``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    layout = layout or PdfLayout()
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=True)
    if layout.author_property:
        canvas.setAuthor(layout.author_property)
    column_width = (PAGE_WIDTH - 2 * MARGIN - GUTTER * (layout.columns - 1)) / layout.columns
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN
    page, column, y = 1, 0, top
    placed: list[tuple[float, float, float, str]] = []  # the page's lines: y, x, size, text

    def finish_page() -> None:
        if layout.running_header and page > 1:
            header = layout.running_header
            placed.append((PAGE_HEIGHT - 40, _centred(header, 9, 0, PAGE_WIDTH), 9, header))
        if layout.page_numbers:
            number = f"- {page} -"
            placed.append((36, _centred(number, 9, 0, PAGE_WIDTH), 9, number))
        if layout.scanned:
            _draw_picture(canvas)
        else:  # in drawing order, or row by row across the columns when the layout says so
            for y_, x, size, text in sorted(placed, key=lambda p: (-p[0], p[1])) if layout.rows_first else placed:
                canvas.setFont(FONT, size)
                canvas.drawString(x, y_, text)
        placed.clear()
        canvas.showPage()

    def put(lines: list[str], size: float, first_indent: float = 0.0, centred: bool = False) -> None:
        nonlocal page, column, y
        for n, line in enumerate(lines):
            if y - size * 1.6 < bottom:  # no room: the next column, or the next page
                if column + 1 < layout.columns:
                    column, y = column + 1, top
                else:
                    finish_page()
                    page, column, y = page + 1, 0, top
            y -= size * 1.6
            left = MARGIN + column * (column_width + GUTTER)
            x = _centred(line, size, left, column_width) if centred else left + (first_indent if n == 0 else 0.0)
            placed.append((y, x, size, line))

    def paragraph(text: str) -> None:
        indent = 2 * layout.body_size
        put(wrapped(text, column_width, layout.body_size, indent), layout.body_size, first_indent=indent)

    put(wrapped(article.headline, column_width, layout.headline_size, 0), layout.headline_size, centred=True)
    for line in article.byline:
        put([line], layout.body_size, centred=True)
    for text in article.lead:
        paragraph(text)
    for heading, paragraphs in article.sections:
        put(wrapped(heading, column_width, layout.heading_size, 0), layout.heading_size)
        for text in paragraphs:
            paragraph(text)
    finish_page()
    canvas.save()
    return path


def _centred(text: str, size: float, left: float, width: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return left + (width - stringWidth(text, FONT, size)) / 2


def _draw_picture(canvas: Canvas) -> None:
    """A page that is one picture of text-like stripes (what a scan without OCR holds)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    image = Image.new("L", (200, 280), 255)
    for row in range(20, 260, 12):
        image.paste(0, (20, row, 180, row + 5))
    canvas.drawImage(ImageReader(image), 0, 0, PAGE_WIDTH, PAGE_HEIGHT)


def article_from_knowledge(knowledge_dir: Path, min_chars: int = 0) -> PdfArticle:
    """The articles of ``knowledge_dir`` as one PDF article (sections numbered 一、二、…), repeated until it
    holds at least ``min_chars`` characters of body text (about 1,500 fill a single-column page)."""
    from bot.knowledge import load_knowledge

    knowledge = load_knowledge(knowledge_dir)
    sections: list[tuple[str, list[str]]] = []
    chars = 0
    while not sections or chars < min_chars:
        for section in knowledge.sections:
            sections.append((f"{chinese_number(len(sections) + 1)}、{section.title}", list(section.paragraphs)))
            chars += sum(len(p) for p in section.paragraphs)
    return PdfArticle(headline=knowledge.articles[0].headline, byline=[" ".join(knowledge.articles[0].authors)],
                      sections=sections)


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 105 → 一百零五 (section numbering as printed)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        return digits[hundreds] + "百"
    tail = "零" + digits[rest] if rest < 10 else ("一" if rest < 20 else "") + chinese_number(rest)
    return digits[hundreds] + "百" + tail
