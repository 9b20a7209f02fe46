"""Article files → a flat list of text blocks, one reader per format (.txt, .md, .docx, .html).

Readers only say what the format itself tells: a Word heading style, a Markdown ``#``, an image caption, how
many blank lines stood before a line of plain text. Deciding which block is the headline, a section heading or
a caption from its wording is the importer's job, the same for every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ReadError

TEXT, HEADING, CAPTION, TITLE = "text", "heading", "caption", "title"
READABLE_SUFFIXES = (".txt", ".md", ".markdown", ".docx", ".html", ".htm")

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1")
# a soft line break next to a Chinese character or punctuation joins without a space (Chinese has none)
_CJK_EDGE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n|\n(?=[\u3000-\u9fff\uff00-\uffef])")



@dataclass(frozen=True)
class Block:
    """One paragraph-like piece of the source: its text and what the format says it is."""

    text: str
    kind: str = TEXT
    level: int = 0  # heading level (1 = top) where the format gives one
    gap: int = 1  # blank lines before it (plain text only: print layouts mark photo blocks with wider gaps)


@dataclass
class Metadata:
    """What the file says about the article outside its text (Word properties, HTML meta tags)."""

    title: str = ""
    authors: list[str] = field(default_factory=list)
    date: str = ""
    source: str = ""
    url: str = ""


def split_names(text: str) -> list[str]:
    """'王丽 陈刚', '王丽、陈刚', '王丽; 陈刚' → ['王丽', '陈刚']."""
    return [n for n in re.split(r"[\s\u3000、,，;；/|]+", text.strip()) if n]


def read_file(path: Path) -> tuple[Metadata, list[Block]]:
    """Blocks and metadata of one article file, by its suffix."""
    suffix = path.suffix.lower()
    readers = {".txt": read_text, ".md": read_markdown, ".markdown": read_markdown, ".docx": read_docx,
               ".html": read_html, ".htm": read_html}
    if suffix not in readers:
        raise ReadError(f"{path}: cannot import {suffix or 'files without a suffix'} "
                        f"(known: {', '.join(READABLE_SUFFIXES)})")
    try:
        return readers[suffix](path)
    except ReadError:
        raise
    except UnicodeDecodeError:
        raise ReadError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_text(path: Path) -> tuple[Metadata, list[Block]]:
    """One block per non-empty line, with the number of blank lines before it."""
    blocks, gap = [], 0
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            blocks.append(Block(line.strip(), gap=gap))
            gap = 0
        else:
            gap += 1
    return Metadata(), blocks


def markdown_blocks(text: str) -> list[Block]:
    """Markdown → blocks: ``#`` headings, images with their caption, paragraphs (soft breaks joined)."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        chunk = chunk.strip()
        if not chunk or chunk == "---":
            continue
        heading = _MD_HEADING.match(chunk) if "\n" not in chunk else None
        if heading:
            blocks.append(Block(_inline(heading.group(2)), HEADING, level=len(heading.group(1))))
            continue
        image = _MD_IMAGE.search(chunk)
        if image:
            caption = _inline(_MD_IMAGE.sub("", chunk)) or image.group(1).strip()
            if caption:
                blocks.append(Block(caption, CAPTION))
            continue
        text_block = _inline(_CJK_EDGE.sub("", chunk).replace("\n", " "))
        if text_block:
            blocks.append(Block(text_block))
    return blocks


def _inline(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    for _ in range(2):  # nested emphasis: ***bold italic***
        text = _MD_EMPHASIS.sub(r"\2", text)
    return text.strip()


def read_markdown(path: Path) -> tuple[Metadata, list[Block]]:
    text = path.read_text(encoding="utf-8-sig")
    meta = Metadata()
    front = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if front:  # YAML front matter: title, author, date
        text = text[front.end():]
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            value = value.strip().strip("\"'")
            if key.strip() == "title":
                meta.title = value
            elif key.strip() == "author":
                meta.authors = split_names(value)
            elif key.strip() == "date":
                meta.date = value
    return meta, markdown_blocks(text)


def read_docx(path: Path) -> tuple[Metadata, list[Block]]:
    """Word: Title and Heading N styles, Caption style, body paragraphs; title/author from the properties."""
    import docx  # python-docx, imported here: only `import` of .docx needs it
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ReadError(f"{path}: not a Word .docx file ({exc})") from None
    blocks = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "").lower()
        level = re.match(r"heading (\d)", style)
        if style == "title":
            blocks.append(Block(text, TITLE, level=0))
        elif level:
            blocks.append(Block(text, HEADING, level=int(level.group(1))))
        elif style == "caption":
            blocks.append(Block(text, CAPTION))
        else:
            blocks.append(Block(text))
    props = document.core_properties
    meta = Metadata(title=(props.title or "").strip(), authors=split_names(props.author or ""),
                    date=props.created.date().isoformat() if props.created else "")
    return meta, blocks


def read_html(path: Path) -> tuple[Metadata, list[Block]]:
    """A web page: trafilatura keeps the main text (dropping navigation, footers, share bars) as Markdown,
    and reads title, author, date and site name from the page's meta data."""
    import trafilatura  # imported here: only `import` of web pages needs it

    page = path.read_bytes()  # bytes: trafilatura finds the encoding (many government sites serve GBK)
    body = trafilatura.extract(page, output_format="markdown", include_formatting=True, include_images=True,
                               include_tables=False, favor_recall=True, with_metadata=False)
    if not body:
        raise ReadError(f"{path}: no article text found in the page")
    found = trafilatura.extract_metadata(page)
    meta = Metadata()
    if found is not None:
        meta = Metadata(title=(found.title or "").strip(), authors=split_names(found.author or ""),
                        date=(found.date or "").strip(), source=(found.sitename or "").strip(),
                        url=(found.url or "").strip())
    return meta, markdown_blocks(body)
