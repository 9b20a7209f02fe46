"""Word .docx: the body's paragraphs with their styles, read straight from the package's XML.

A .docx is a zip of XML files. Its entries are checked before anything is unpacked (count, total unpacked
size, compression ratio: a 1 MB file holding 1 GB is refused), then ``word/document.xml`` is parsed as a
stream (lxml iterparse), each body paragraph handled and freed as it ends, so a 100,000-paragraph document
takes seconds and little memory. Paragraphs of tables and text boxes are left out (as before, tables are
not imported). Style names (Title, Heading N, Caption, and their Chinese names) and outline levels come
from ``word/styles.xml``; title, author and date from ``docProps/core.xml`` are a fallback the importer uses
only where the document prints none.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO

from lxml import etree

from ..errors import ReadError
from . import (
    CAPTION,
    GENERATOR_AUTHORS,
    HEADING,
    MB,
    TEXT,
    TITLE,
    Block,
    Metadata,
    ReadLimits,
    author_names,
    normalized_date,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DOCUMENT, STYLES, CORE = "word/document.xml", "word/styles.xml", "docProps/core.xml"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$")
_SKIPPED_CONTAINERS = {f"{W}tbl", f"{W}txbxContent"}  # tables, text boxes: not body paragraphs


def _checked_package(path: Path, limits: ReadLimits) -> zipfile.ZipFile:
    """The open package, once its entries are within the limits (nothing is unpacked before)."""
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise ReadError(f"{path}: not a Word .docx file (not a zip package)") from None
    entries = package.infolist()
    unpacked = sum(e.file_size for e in entries)
    packed = sum(e.compress_size for e in entries)
    problem = ""
    if len(entries) > limits.docx_max_entries:
        problem = (f"it holds {len(entries)} entries, more than the {limits.docx_max_entries} allowed "
                   "(setting import_docx_max_entries)")
    elif unpacked > limits.docx_max_unpacked_mb * MB:
        problem = (f"it unpacks to {unpacked / MB:.0f} MB, more than the {limits.docx_max_unpacked_mb:g} MB "
                   "allowed (setting import_docx_max_unpacked_mb)")
    elif unpacked > limits.docx_max_ratio * max(packed, 1) and unpacked > MB:
        problem = (f"it unpacks to {unpacked / max(packed, 1):.0f} times its packed size, more than the "
                   f"{limits.docx_max_ratio:g} allowed (setting import_docx_max_ratio)")
    elif DOCUMENT not in package.namelist():
        problem = f"it has no {DOCUMENT}: not a Word .docx file"
    if problem:
        package.close()
        raise ReadError(f"{path}: {problem}; nothing was imported")
    return package


def _parser_events(stream: IO[bytes], tag: str) -> etree.iterparse:
    # no DTDs, no entities, no network: a document is only elements and text
    return etree.iterparse(stream, events=("start", "end"), tag=tag, resolve_entities=False, load_dtd=False,
                           no_network=True, huge_tree=False)


def _styles(package: zipfile.ZipFile) -> dict[str, tuple[str, int]]:
    """Paragraph style id → (kind, heading level) for the styles that mean something to the importer."""
    if STYLES not in package.namelist():
        return {}
    root = etree.fromstring(package.read(STYLES), etree.XMLParser(resolve_entities=False, no_network=True))
    styles: dict[str, tuple[str, int]] = {}
    for style in root.iter(f"{W}style"):
        style_id = style.get(f"{W}styleId") or ""
        name_node = style.find(f"{W}name")
        name = (name_node.get(f"{W}val") if name_node is not None else "") or style_id
        name = name.strip().lower()
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        heading = _HEADING_STYLE.match(name)
        if name in ("title", "标题"):
            styles[style_id] = (TITLE, 0)
        elif heading:
            styles[style_id] = (HEADING, int(heading.group(1)))
        elif outline is not None and (outline.get(f"{W}val") or "9").isdigit() and int(outline.get(f"{W}val") or 9) < 9:
            styles[style_id] = (HEADING, int(outline.get(f"{W}val") or 0) + 1)
        elif name in ("caption", "题注"):
            styles[style_id] = (CAPTION, 0)
    return styles


def _is_on(node: etree._Element | None) -> bool:
    """A toggle property such as <w:b/>: on unless its value says off."""
    return node is not None and (node.get(f"{W}val") or "true").lower() not in ("0", "false", "off", "none")


def _paragraph(p: etree._Element, styles: dict[str, tuple[str, int]]) -> Block | None:
    parts: list[str] = []
    bold_chars = 0
    for run in p.iter(f"{W}r"):
        text = "".join(node.text or "" if node.tag == f"{W}t" else "\t" if node.tag == f"{W}tab" else " "
                       for node in run if node.tag in (f"{W}t", f"{W}tab", f"{W}br"))
        parts.append(text)
        if text.strip() and _is_on(run.find(f"{W}rPr/{W}b")):
            bold_chars += len(text.strip())
    text = " ".join("".join(parts).split()) if parts else ""
    if not text:
        return None
    style = p.find(f"{W}pPr/{W}pStyle")
    kind, level = styles.get(style.get(f"{W}val") or "", (TEXT, 0)) if style is not None else (TEXT, 0)
    outline = p.find(f"{W}pPr/{W}outlineLvl")
    if kind == TEXT and outline is not None and (outline.get(f"{W}val") or "9").isdigit() \
            and int(outline.get(f"{W}val") or 9) < 9:
        kind, level = HEADING, int(outline.get(f"{W}val") or 0) + 1
    emphasis = kind == TEXT and bold_chars >= len(text.replace(" ", ""))
    return Block(text, kind, level=level, emphasis=emphasis)


def _body_blocks(package: zipfile.ZipFile, styles: dict[str, tuple[str, int]]) -> list[Block]:
    blocks: list[Block] = []
    skipped = 0  # depth inside tables and text boxes
    with package.open(DOCUMENT) as stream:
        for event, element in _parser_events(stream, tag="*"):
            if element.tag in _SKIPPED_CONTAINERS:
                skipped += 1 if event == "start" else -1
            elif event == "end" and element.tag == f"{W}p" and skipped == 0:
                block = _paragraph(element, styles)
                if block is not None:
                    blocks.append(block)
                element.clear()  # the paragraph is read: free it (the stream stays small)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    return blocks


def _properties(package: zipfile.ZipFile) -> Metadata:
    """Title, author and creation date from the package's core properties (a fallback: see the module)."""
    if CORE not in package.namelist():
        return Metadata()
    root = etree.fromstring(package.read(CORE), etree.XMLParser(resolve_entities=False, no_network=True))

    def field(name: str) -> str:
        node = root.find(name)
        return (node.text or "").strip() if node is not None else ""

    author = field("{http://purl.org/dc/elements/1.1/}creator")
    if author.lower() in GENERATOR_AUTHORS:  # the program's template properties, not the document's
        return Metadata(title=field("{http://purl.org/dc/elements/1.1/}title"))
    return Metadata(title=field("{http://purl.org/dc/elements/1.1/}title"), authors=author_names(author),
                    date=normalized_date(field("{http://purl.org/dc/terms/}created")))


def read_docx(path: Path, limits: ReadLimits) -> tuple[Metadata, list[Block]]:
    """Word: Title, Heading N (or outline level) and Caption styles, bold paragraphs, body paragraphs."""
    with _checked_package(path, limits) as package:
        try:
            styles = _styles(package)
            blocks = _body_blocks(package, styles)
            meta = _properties(package)
        except etree.XMLSyntaxError as exc:
            raise ReadError(f"{path}: not a Word .docx file (broken XML: {exc.msg or exc})") from None
        except (zipfile.BadZipFile, EOFError, KeyError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise ReadError(f"{path}: not a Word .docx file (damaged package: {exc})") from None
    return meta, blocks
