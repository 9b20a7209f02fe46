"""Chinese passage chunking: sentences packed into passages short enough to quote on a phone.

Sentences end at 。！？； (and their ASCII forms), closing quotes stay with their sentence. A sentence
longer than the limit is cut at a clause mark (，、：), never inside a figure such as 15.2% or 1+1+1.
Chunks stay inside one paragraph so a passage never mixes two topics, and each keeps its section.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .figures import figure_spans
from .knowledge import Knowledge, Section
from .text import INNER_CLAUSE_MARK, SENTENCE_END

MAX_PASSAGE_CHARS = 300  # the most a phone screen shows of a passage without scrolling away from the question
MIN_PASSAGE_CHARS = 20


@dataclass(frozen=True, slots=True, init=False)
class Chunk:
    """One passage of the index: verbatim text plus where it comes from."""

    id: str
    section: str
    title: str
    heading: str
    text: str
    bounds: tuple[int, ...]  # where each sentence starts and ends in the text, in pairs

    def __init__(self, id: str, section: str, title: str, heading: str, text: str,
                 sentences: Sequence[str] = ()) -> None:
        """``sentences`` as stored in the index (verbatim pieces of the text, in order); split here when not given.
        They are kept as offsets into the text, not as strings of their own (60 MB at 100,000 passages)."""
        for name, value in (("id", id), ("section", section), ("title", title), ("heading", heading), ("text", text)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "bounds", _sentence_bounds(text, sentences or split_sentences(text)))

    @property
    def sentences(self) -> tuple[str, ...]:
        """The text's sentences, verbatim: split once, when the passage is made, and kept in the index."""
        bounds = self.bounds
        return tuple(self.text[bounds[i]:bounds[i + 1]] for i in range(0, len(bounds), 2))

    @property
    def embedding_text(self) -> str:
        """What is embedded: the sample's title gives short passages the context of their sample."""
        return f"{self.title}:{self.text}"

    @property
    def sentence_texts(self) -> list[str]:
        """Each sentence with the title, embedded and scored on its own so a passage is ranked by its best
        sentence too (a question is usually answered by one sentence, not by words spread over several)."""
        return [f"{self.title}:{s}" for s in self.sentences]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "title": self.title, "heading": self.heading,
                "text": self.text, "sentences": list(self.sentences)}


def _sentence_bounds(text: str, sentences: Sequence[str]) -> tuple[int, ...]:
    """Each sentence's start and end in the text; ValueError when one is not the text's next piece."""
    bounds: list[int] = []
    end = 0
    for sentence in sentences:
        start = text.index(sentence, end)
        end = start + len(sentence)
        bounds += (start, end)
    return tuple(bounds)


def content_hash(model_id: str, text: str) -> str:
    """Same text under the same model → same vector, so unchanged passages are not re-embedded."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, verbatim (joining them gives the paragraph back)."""
    sentences, start = [], 0
    for match in SENTENCE_END.finditer(paragraph):
        sentences.append(paragraph[start:match.end()])
        start = match.end()
    if paragraph[start:].strip():
        sentences.append(paragraph[start:])
    return [s for s in sentences if s.strip()]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut a too-long sentence at clause marks outside figures, into pieces of at most ``max_chars``."""
    inside: set[int] = set()
    for start, end in figure_spans(sentence):
        inside.update(range(start, end))
    cuts = [m.end() for m in INNER_CLAUSE_MARK.finditer(sentence) if m.start() not in inside]
    pieces, start = [], 0
    while len(sentence) - start > max_chars:
        fitting = [c for c in cuts if start < c <= start + max_chars]
        end = fitting[-1] if fitting else start + max_chars
        while end in inside and end > start + 1:  # no clause mark: still never split a figure
            end -= 1
        pieces.append(sentence[start:end])
        start = end
    pieces.append(sentence[start:])
    return pieces


def pack(sentences: list[str], max_chars: int) -> list[str]:
    """Greedy packing into passages of at most ``max_chars``, balanced so the last one is not a stub."""
    units = [piece for s in sentences for piece in (_split_long(s, max_chars) if len(s) > max_chars else [s])]
    total = sum(len(u) for u in units)
    target = total / max(1, math.ceil(total / max_chars))
    passages: list[str] = []
    current = ""
    for unit in units:
        if current and (len(current) + len(unit) > max_chars or len(current) >= target):
            passages.append(current)
            current = ""
        current += unit
    if current:
        passages.append(current)
    return passages


def chunk_section(section: Section, max_chars: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for paragraph in section.paragraphs:
        for text in pack(split_sentences(paragraph), max_chars):
            chunks.append(Chunk(f"{section.id}-{len(chunks) + 1}", section.id, section.title, section.heading,
                                text.strip()))
    return chunks


def chunk_knowledge(knowledge: Knowledge, max_chars: int) -> list[Chunk]:
    if not MIN_PASSAGE_CHARS <= max_chars <= MAX_PASSAGE_CHARS:
        raise ConfigError(f"setting 'chunk_max_chars' is {max_chars}: passages must be {MIN_PASSAGE_CHARS} to "
                          f"{MAX_PASSAGE_CHARS} characters (longer ones do not read well on a phone)")
    return [c for s in knowledge.sections for c in chunk_section(s, max_chars)]
