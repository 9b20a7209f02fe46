"""Plain text (a transcription of a printed page) and Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from . import CAPTION, HEADING, Block, Metadata, ReadLimits, author_names, normalized_date, refuse_if_larger

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1")
# a soft line break next to a Chinese character or punctuation joins without a space (Chinese has none)
_CJK_EDGE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n|\n(?=[\u3000-\u9fff\uff00-\uffef])")


def read_text(path: Path, limits: ReadLimits) -> tuple[Metadata, list[Block]]:
    """One block per non-empty line, with the number of blank lines before it (read line by line)."""
    refuse_if_larger(path, limits.max_text_mb, "text files", "import_max_text_mb")
    blocks, gap = [], 0
    with path.open(encoding="utf-8-sig") as lines:
        for line in lines:
            if line.strip():
                blocks.append(Block(line.strip(), gap=gap))
                gap = 0
            else:
                gap += 1
    return Metadata(), blocks


def markdown_blocks(text: str) -> list[Block]:
    """Markdown → blocks: ``#`` headings, images with their caption, paragraphs (soft breaks joined).

    An image standing alone in its paragraph is a photo: the text beside it is its caption. An image inside
    a paragraph of text lines (an inline picture) is left out and the lines are the paragraph."""
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
        lines = [line for line in chunk.split("\n") if line.strip()]
        if image and (len(lines) == 1 or _MD_IMAGE.search(lines[0])):
            caption = _inline(_MD_IMAGE.sub("", chunk)) or image.group(1).strip()
            if caption:
                blocks.append(Block(caption, CAPTION))
            continue
        text_block = _inline(_CJK_EDGE.sub("", _MD_IMAGE.sub("", chunk).strip()).replace("\n", " "))
        if text_block:
            blocks.append(Block(text_block))
    return blocks


def _inline(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    for _ in range(2):  # nested emphasis: ***bold italic***
        text = _MD_EMPHASIS.sub(r"\2", text)
    return text.strip()


def read_markdown(path: Path, limits: ReadLimits) -> tuple[Metadata, list[Block]]:
    refuse_if_larger(path, limits.max_text_mb, "text files", "import_max_text_mb")
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
                meta.authors = author_names(value)
            elif key.strip() == "date":
                meta.date = normalized_date(value)
    return meta, markdown_blocks(text)
