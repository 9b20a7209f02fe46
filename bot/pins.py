"""Pins: reviewed links from questions staff have seen to the passage (optionally the sentence) that answers them.

A pin lives beside the article it points into, in ``knowledge/<article>/pins.yaml``, and is reviewed like the
section files. It names its target by something that survives rebuilds and unrelated edits: the section id and
the quoted text of a sentence there, either the sentence to quote (``sentence``) or the first sentence of the
passage (``passage``). Each build resolves that text against the passages it makes; a pin whose text is gone
stops ``build --check`` and ``build`` with a message naming the file, the question and what is missing.
``python -m bot pin`` writes these files; an editor may edit them by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .chunking import Chunk, chunk_knowledge, split_sentences
from .errors import KnowledgeError
from .knowledge import PINS_FILE, Knowledge, Section, read_yaml, visible
from .normalize import fold

PIN_FIELDS = frozenset({"question", "section", "sentence", "passage", "by", "at"})
_HEADER = ("# Reviewed pins: questions staff have seen → the passage (and sentence) that answers them and their\n"
           "# paraphrases. Written by `python -m bot pin` (docs/staff.md); `sentence` is quoted as the answer,\n"
           "# `passage` only names the passage by its first sentence. Checked by `python -m bot build --check`.\n")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Pin:
    """One reviewed pin, as its file holds it."""

    question: str
    section: str  # the section id
    text: str  # the quoted text it resolves against: the sentence, or the passage's first sentence
    quotes_sentence: bool  # ``text`` is the sentence to quote (else the answer step chooses in the passage)
    by: str = ""
    at: str = ""
    file: str = ""  # '<article>/pins.yaml', for messages

    def to_yaml(self) -> dict[str, str]:
        entry = {"question": self.question, "section": self.section,
                 ("sentence" if self.quotes_sentence else "passage"): self.text}
        return entry | ({"by": self.by} if self.by else {}) | ({"at": self.at} if self.at else {})


@dataclass(frozen=True)
class ResolvedPin:
    """A pin found in the passages of a build: the passage's row and, when pinned, the sentence's place in it."""

    pin: Pin
    row: int
    sentence: int | None


def _key(text: str) -> str:
    """Text as it is compared: folded (script, width, case) without spaces."""
    return _SPACE.sub("", fold(text))


def same_question(a: str, b: str) -> bool:
    return _key(a).strip("?？!！。.") == _key(b).strip("?？!！。.")


def parse_pins(data: Any, file: str) -> tuple[list[Pin], list[str]]:
    """Validate a pins file (``pins: [{question, section, sentence | passage, by, at}]``)."""
    if data is None:
        return [], []
    entries = data.get("pins") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], [f"{file}: field 'pins' is missing or not a list of pins"]
    pins, problems = [], []
    for i, entry in enumerate(entries, 1):
        where = f"{file}: pin {i}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with question, section and sentence or passage")
            continue
        found = []
        for key in ("question", "section", "sentence", "passage", "by", "at"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, (str, int)) or isinstance(value, bool)
                                      or not visible(str(value))):
                problems.append(f"{where}: field '{key}' must be non-empty text")
                value = None
            found.append(str(value).strip() if value is not None else "")
        question, section, sentence, passage, by, at = found
        for key, value in (("question", question), ("section", section)):
            if not value and entry.get(key) is None:
                problems.append(f"{where}: field '{key}' is missing")
        if bool(sentence) == bool(passage):
            problems.append(f"{where}: give exactly one of 'sentence' (the sentence to quote) and 'passage' "
                            "(the passage's first sentence)")
        unknown = set(map(str, entry)) - PIN_FIELDS
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if question and section and bool(sentence) != bool(passage):
            pins.append(Pin(question, section, sentence or passage, bool(sentence), by, at, file))
    return ([] if problems else pins), problems


def pin_files(knowledge_dir: Path) -> list[Path]:
    """The pins files of the article folders, in folder order."""
    if not knowledge_dir.is_dir():
        return []
    return sorted(p for p in knowledge_dir.glob(f"*/{PINS_FILE}") if not p.parent.name.startswith("."))


def load_pins(knowledge_dir: Path) -> list[Pin]:
    """Every pin in ``knowledge_dir``; KnowledgeError listing every malformed one."""
    pins: list[Pin] = []
    problems: list[str] = []
    for path in pin_files(knowledge_dir):
        name = f"{path.parent.name}/{PINS_FILE}"
        readable, data = read_yaml(path, name, problems)
        if readable:
            found, errors = parse_pins(data, name)
            pins += found
            problems += errors
    if problems:
        raise KnowledgeError(problems)
    return pins


def resolve(pins: Sequence[Pin], chunks: Sequence[Chunk],
            article_of: dict[str, str] | None = None) -> tuple[list[ResolvedPin], list[str]]:
    """Each pin's passage (and sentence) among ``chunks``, and a problem for each pin whose section or quoted
    text is gone (``article_of``: section id → article folder, to check a pin sits beside its article)."""
    rows_of: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        rows_of.setdefault(chunk.section, []).append(row)
    resolved, problems = [], []
    for pin in pins:
        where = f"{pin.file}: pin “{pin.question}”"
        if pin.section not in rows_of:
            problems.append(f"{where}: field 'section': no section '{pin.section}' any more")
            continue
        if article_of is not None and pin.file and article_of.get(pin.section) != pin.file.split("/")[0]:
            problems.append(f"{where}: field 'section': section '{pin.section}' is in article "
                            f"'{article_of.get(pin.section)}'; move the pin to that article's {PINS_FILE}")
            continue
        found = _find(pin, chunks, rows_of[pin.section])
        if found is None:
            kind = "sentence" if pin.quotes_sentence else "passage"
            problems.append(f"{where}: field '{kind}': section '{pin.section}' no longer has the text "
                            f"“{pin.text}” (edit the pin to quote the new text, or remove it)")
            continue
        resolved.append(ResolvedPin(pin, *found))
    return resolved, problems


def _find(pin: Pin, chunks: Sequence[Chunk], rows: list[int]) -> tuple[int, int | None] | None:
    wanted = _key(pin.text)
    for row in rows:
        sentences = [_key(s) for s in split_sentences(chunks[row].text)]
        if wanted in sentences:
            return row, sentences.index(wanted) if pin.quotes_sentence else None
    for row in rows:  # a sentence the passage now cuts elsewhere: still the passage holding the text
        if wanted and wanted in _key(chunks[row].text):
            return row, None
    return None


def new_pin(question: str, chunk: Chunk, article: str, sentence: str = "", by: str = "") -> Pin:
    """A pin of ``question`` to ``chunk`` (and ``sentence``, a 1-based number or text of one of its sentences)."""
    sentences = [s.strip() for s in split_sentences(chunk.text)]
    if not visible(question):
        raise KnowledgeError(["the question to pin is empty"])
    chosen = ""
    if sentence.strip().isdigit():
        number = int(sentence)
        if not 1 <= number <= len(sentences):
            raise KnowledgeError([f"passage {chunk.id} has {len(sentences)} sentence(s): --sentence must be 1 to "
                                  f"{len(sentences)}"])
        chosen = sentences[number - 1]
    elif sentence.strip():
        chosen = next((s for s in sentences if _key(sentence) in _key(s)), "")
        if not chosen:
            raise KnowledgeError([f"passage {chunk.id} has no sentence with “{sentence.strip()}”"])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Pin(question.strip(), chunk.section, chosen or sentences[0], bool(chosen), by, stamp,
               f"{article}/{PINS_FILE}")


def pin_passage(question: str, chunk: Chunk, section: Section | None, knowledge_dir: Path, sentence: str = "",
                by: str = "") -> Pin:
    """The pin of ``question`` to ``chunk``, kept beside its article (knowledge/<article>/pins.yaml) — what
    ``python -m bot pin`` and /review both write; KnowledgeError when the passage is not in an article folder."""
    folder = section.file.split("/")[0] if section is not None and "/" in section.file else ""
    if not folder or not (knowledge_dir / folder).is_dir():
        raise KnowledgeError([f"passage {chunk.id} is in a section file outside an article folder of "
                              f"{knowledge_dir}: pins are kept beside their article (knowledge/<article>/pins.yaml)"])
    return new_pin(question, chunk, folder, sentence, by)


def _write(path: Path, pins: Sequence[Pin]) -> None:
    """The file holding ``pins`` (none: the file goes), written whole: a reader never sees half of it."""
    if not pins:
        path.unlink(missing_ok=True)
        return
    text = _HEADER + yaml.safe_dump({"pins": [p.to_yaml() for p in pins]}, allow_unicode=True, sort_keys=False,
                                    width=1000)
    temporary = path.with_name(f".{PINS_FILE}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def add_pin(knowledge_dir: Path, pin: Pin) -> Pin | None:
    """Write ``pin`` into its article's pins file; returns the pin it replaced (the same question), if any."""
    path = knowledge_dir / pin.file
    problems: list[str] = []
    readable, data = read_yaml(path, pin.file, problems) if path.exists() else (True, None)
    pins, errors = parse_pins(data, pin.file) if readable else ([], problems)
    if errors:
        raise KnowledgeError(errors)
    replaced = next((p for p in pins if same_question(p.question, pin.question)), None)
    _write(path, [p for p in pins if p is not replaced] + [pin])
    return replaced


def remove_pins(knowledge_dir: Path, question: str) -> list[Pin]:
    """Remove every pin of ``question`` (compared as folded text); returns those removed."""
    removed = []
    for pin in load_pins(knowledge_dir):
        if same_question(pin.question, question):
            removed.append(pin)
    for file in dict.fromkeys(p.file for p in removed):
        kept = [p for p in load_pins(knowledge_dir) if p.file == file and not same_question(p.question, question)]
        _write(knowledge_dir / file, kept)
    return removed


def checked_pins(knowledge_dir: Path, knowledge: Knowledge, chunk_max_chars: int) -> list[ResolvedPin]:
    """Every pin resolved against the passages the next build makes; KnowledgeError naming each pin whose
    file is malformed or whose section or text is gone (what ``build --check`` and ``build`` run)."""
    chunks = chunk_knowledge(knowledge, chunk_max_chars)
    resolved, problems = resolve(load_pins(knowledge_dir), chunks, {s.id: s.article_id for s in knowledge.sections})
    if problems:
        raise KnowledgeError(problems)
    return resolved
