"""Article files → a flat list of text blocks, one reader module per format (text and Markdown, Word, web
pages, PDF).

Readers only say what the format itself tells: a Word heading style, a Markdown ``#``, a PDF line set in a
larger size, an image caption, how many blank lines stood before a line of plain text. Deciding which block
is the headline, the byline, a section heading or a caption from its wording is the importer's job, the same
for every format. What a file says outside its text (Word properties, a page's meta tags, PDF document info)
is ``Metadata``: the importer uses it only where the printed text says nothing.

Every file is bounded before it is parsed (``ReadLimits``, from the import_* settings): its size, a Word
file's unpacked size, entry count and compression ratio, and the time spent reading it. A refusal is one
line naming the file, the limit and the setting.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ReadError

TEXT, HEADING, CAPTION, TITLE = "text", "heading", "caption", "title"
READABLE_SUFFIXES = (".txt", ".md", ".markdown", ".docx", ".html", ".htm", ".pdf")
MB = 1024 * 1024

# names that programs and fresh installs write into a file's author property: never a person's byline
PLACEHOLDER_AUTHORS = frozenset({
    "python-docx", "administrator", "admin", "microsoft office user", "microsoft office 用户", "windows user",
    "user", "unknown", "author", "owner", "guest", "lenovo", "dell", "hp", "wps", "wps office", "微软用户",
    "微软中国", "用户", "管理员", "系统管理员", "作者", "匿名", "未知", "reportlab", "libreoffice", "pdfium",
})
# programs whose template properties (author, creation date) are theirs, not the document's
GENERATOR_AUTHORS = frozenset({"python-docx", "reportlab"})
_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})(?!\d)|D:(\d{4})(\d{2})(\d{2})")
_CJK = re.compile(r"[\u3400-\u9fff]")
NUMERAL = "一二三四五六七八九十百零〇两"
# how a numbered heading begins (一、 （一） 1.): the one pattern the importer and the PDF reader share
NUMBERED_HEADING = rf"(?:[{NUMERAL}]+、|[（(][{NUMERAL}\d]+[）)]|\d{{1,2}}[、．.](?!\d))"


@dataclass(frozen=True)
class Block:
    """One paragraph-like piece of the source: its text and what the format says it is."""

    text: str
    kind: str = TEXT
    level: int = 0  # heading level (1 = top) where the format gives one
    gap: int = 1  # blank lines before it (plain text only: print layouts mark photo blocks with wider gaps)
    emphasis: bool = False  # set apart by the format without a heading style: all bold (Word), larger type (PDF)


@dataclass
class Metadata:
    """What is said about the article: from the file (properties, meta tags) or from its printed lines."""

    title: str = ""
    authors: list[str] = field(default_factory=list)
    date: str = ""  # YYYY-MM-DD
    source: str = ""
    url: str = ""

    def or_else(self, fallback: Metadata) -> Metadata:
        """Each field from here where it is known, else from ``fallback``."""
        return Metadata(title=self.title or fallback.title, authors=self.authors or fallback.authors,
                        date=self.date or fallback.date, source=self.source or fallback.source,
                        url=self.url or fallback.url)


@dataclass(frozen=True)
class ReadLimits:
    """Bounds checked before and while a file is parsed (settings import_*)."""

    max_text_mb: float = 5.0  # .txt, .md, .html and a fetched page
    max_pdf_mb: float = 100.0
    docx_max_unpacked_mb: float = 200.0
    docx_max_ratio: float = 100.0
    docx_max_entries: int = 2000
    max_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        return cls(max_text_mb=float(settings.import_max_text_mb), max_pdf_mb=float(settings.import_max_pdf_mb),
                   docx_max_unpacked_mb=float(settings.import_docx_max_unpacked_mb),
                   docx_max_ratio=float(settings.import_docx_max_ratio),
                   docx_max_entries=int(settings.import_docx_max_entries),
                   max_seconds=float(settings.import_max_seconds))


def split_names(text: str) -> list[str]:
    """'王丽 陈刚', '王丽、陈刚', '王丽; 陈刚' → ['王丽', '陈刚']; 'Li Ming, Wang Hua' → ['Li Ming', 'Wang Hua']
    (spaces separate Chinese names, not the parts of a Latin one)."""
    names: list[str] = []
    for part in re.split(r"[\u3000、,，;；/|]+", text.strip()):
        names += part.split() if _CJK.search(part) else [" ".join(part.split())]
    return [n for n in names if n]


def author_names(text: str) -> list[str]:
    """The names in a file's author property, without the placeholders programs write there."""
    if " ".join(text.split()).lower() in PLACEHOLDER_AUTHORS:
        return []
    return [n for n in split_names(text) if n.lower() not in PLACEHOLDER_AUTHORS]


def normalized_date(text: str) -> str:
    """The first date in ``text`` as YYYY-MM-DD: 2024年5月6日, 2024-05-06, 2024.5.6, 2024/5/6,
    2024-05-06T08:30:00+08:00, D:20240506083000 (PDF); '' when there is none (or it is no real day)."""
    for match in _DATE.finditer(text):
        year, month, day = (match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6))
        try:
            return datetime.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            continue
    return ""


def _size_mb(path: Path) -> float:
    return path.stat().st_size / MB


def refuse_if_larger(path: Path, limit_mb: float, kind: str, setting: str) -> None:
    """ReadError naming the file and the limit when ``path`` is over ``limit_mb`` (checked before reading)."""
    size = _size_mb(path)
    if size > limit_mb:
        raise ReadError(f"{path}: {size:.1f} MB is more than the {limit_mb:g} MB allowed for {kind} "
                        f"(setting {setting}); nothing was imported")


class _TimeUp(BaseException):
    """Raised by the timer; a BaseException, so a library's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def time_limit(path: Path, seconds: float) -> Iterator[None]:
    """Stop reading ``path`` with a ReadError after ``seconds`` (a timer signal: only in the main thread,
    where the command line runs; elsewhere the size limits alone bound the work)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    expired, disarmed = threading.Event(), threading.Event()

    def ring(signum: int, frame: Any) -> None:
        if not disarmed.is_set():
            expired.set()
            raise _TimeUp

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        pass
    finally:
        disarmed.set()  # a ring from here on changes nothing
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired.is_set():  # also when a library caught the timer's exception and carried on
        raise ReadError(f"{path}: reading took more than {seconds:g} s (setting import_max_seconds); "
                        "nothing was imported")


Reader = Callable[[Path, ReadLimits], tuple[Metadata, list[Block]]]


def _reader(suffix: str) -> Reader | None:
    """The reader of a suffix, imported only when needed (each pulls in its format's library)."""
    if suffix in (".txt", ".md", ".markdown"):
        from .text import read_markdown, read_text

        return read_text if suffix == ".txt" else read_markdown
    if suffix == ".docx":
        from .word import read_docx

        return read_docx
    if suffix in (".html", ".htm"):
        from .web import read_html

        return read_html
    if suffix == ".pdf":
        from .pdf import read_pdf

        return read_pdf
    return None


def read_file(path: Path, limits: ReadLimits | None = None) -> tuple[Metadata, list[Block]]:
    """Blocks and metadata of one article file, by its suffix, within ``limits``."""
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    reader = _reader(suffix)
    if reader is None:
        raise ReadError(f"{path}: cannot import {suffix or 'files without a suffix'} "
                        f"(known: {', '.join(READABLE_SUFFIXES)})")
    try:
        with time_limit(path, limits.max_seconds):
            return reader(path, limits)
    except ReadError:
        raise
    except UnicodeDecodeError:
        raise ReadError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except MemoryError:
        raise ReadError(f"{path}: too large to read in the memory available") from None
