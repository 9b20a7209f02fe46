"""Building an index: validate content, chunk, embed what changed, count terms, write the files, publish.

``build_index`` runs these as named steps and says how long each took (``BuildReport.phases``). The files go
into a staging folder that becomes a build folder only when complete (bot.index.builds); vectors and token
counts of unchanged texts come from the previous build (bot.index.reuse).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..chunking import Chunk, chunk_knowledge, content_hash
from ..config import Settings
from ..figures import figure_units
from ..knowledge import Content, Knowledge, content_to_json, load_knowledge
from ..lexical import LexicalIndex, RowLexicalIndex, TermCounts, Tokenizer
from ..normalize import fold
from .builds import BUILDS, FORMAT_VERSION, prune, publish_lock, replace_pointer, sha256_of
from .reuse import previous_terms, previous_vectors, reusable_build
from .vectors import vector_index

_QUOTED_TERM = re.compile(r"“([^”]{2,12})”")


@dataclass
class BuildReport:
    files: int
    chunks: int
    embedded: int  # distinct texts (passages and sentences) embedded by this build
    reused: int  # passage and sentence vectors taken from the previous build
    tokenized: int  # passages and sentences segmented by this build (the others' counts were reused)
    seconds: float
    model_seconds: float
    path: Path
    phases: dict[str, float] = field(default_factory=dict)  # seconds by step, in build order (see _Laps)
    not_reused: str = ""  # why the previous build's vectors and counts were not reused ("" if they were or none)


def user_words(knowledge: Knowledge, chunks: list[Chunk]) -> list[str]:
    """Words jieba should keep whole: synonym terms and the article's quoted names (“侨家乐”, “医保纾困”)."""
    words = {t for group in knowledge.synonyms for t in group}
    for chunk in chunks:
        words.update(_QUOTED_TERM.findall(chunk.text))
        words.update(_QUOTED_TERM.findall(chunk.title))
    return sorted(words)


def corpus_terms(knowledge: Knowledge, chunks: list[Chunk]) -> list[str]:
    """Synonym terms the passages actually use: only these are worth adding to a question."""
    corpus = "\n".join(lexical_text(c) for c in chunks)
    return sorted({fold(t) for group in knowledge.synonyms for t in group if fold(t) in corpus})


def sentence_units(chunks: list[Chunk]) -> dict[str, list[int]]:
    """Unit → the sentence rows (in index order) that give a figure in that unit."""
    rows: dict[str, list[int]] = {}
    row = 0
    for chunk in chunks:
        for sentence in chunk.sentences:
            for unit in figure_units(sentence):
                rows.setdefault(unit, []).append(row)
            row += 1
    return dict(sorted(rows.items()))


def lexical_text(chunk: Chunk) -> str:
    return fold(chunk.embedding_text)


def _embed(texts: list[str], model_id: str, embedder: Any, previous: dict[str, np.ndarray],
           fresh: dict[str, np.ndarray], batch_size: int, progress: bool) -> tuple[np.ndarray, list[str], int]:
    """Vectors for ``texts``: from the previous build, or from ``fresh`` (what this build already embedded:
    a one-sentence passage is its own sentence), else embedded now, each distinct text once.
    Returns the vectors, their hashes and how many rows came from the previous build."""
    hashes = [content_hash(model_id, t) for t in texts]
    missing = list({h: i for i, h in enumerate(hashes) if h not in previous and h not in fresh}.values())
    fresh.update(zip((hashes[i] for i in missing),
                     embedder.encode([texts[i] for i in missing], batch_size, progress=progress)))
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    reused = 0
    for row, h in enumerate(hashes):
        if h in previous:
            vectors[row] = previous[h]
            reused += 1
        else:
            vectors[row] = fresh[h]
    return vectors, hashes, reused


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


class _Laps(dict[str, float]):
    """Seconds spent in each step of a build, so the build says where its time goes (printed by ``build``,
    read by the bench) without anyone timing it from outside."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap to ``step`` (a step may be charged more than once)."""
        now = time.perf_counter()
        self[step] = self.get(step, 0.0) + now - self._last
        self._last = now


@dataclass
class _Vectors:
    """The build's passage and sentence vectors and what they were made from."""

    chunks: np.ndarray  # float32, one row per passage
    sentences: np.ndarray  # float32 here, stored as float16
    offsets: np.ndarray  # passage i has sentences offsets[i]:offsets[i+1]
    chunk_hashes: list[str]
    sentence_hashes: list[str]
    embedded: int  # distinct texts embedded by this build
    reused: int  # rows taken from the previous build


@dataclass
class _Terms:
    """The build's words: jieba's user words, token counts, and the BM25 indexes over them."""

    user_words: list[str]
    chunk_terms: TermCounts
    sentence_terms: TermCounts
    lexical: LexicalIndex
    sentence_lexical: RowLexicalIndex  # counts and IDF only: serving computes the candidates' weights
    tokenized: int  # passages and sentences segmented by this build


def build_index(settings: Settings, load_model: Callable[[Settings], Any], progress: bool = False,
                knowledge: Knowledge | None = None) -> BuildReport:
    """Validate content, chunk, embed what changed, and publish a new build atomically."""
    started = time.perf_counter()
    laps = _Laps()
    knowledge = knowledge or load_knowledge(settings.path("knowledge_dir"))
    laps.lap("load_knowledge")
    chunks = chunk_knowledge(knowledge, settings.chunk_max_chars)
    laps.lap("chunk")
    embedder = load_model(settings)
    laps.lap("model_load")
    previous, not_reused = reusable_build(settings.path("index_dir"), embedder)
    vectors = _embed_chunks(chunks, embedder, previous, settings, progress)
    laps.lap("embed")
    terms = _count_terms(knowledge, chunks, previous, laps)
    final = _write_and_publish(settings, knowledge, chunks, embedder, vectors, terms, laps)
    laps.lap("write")  # the files, their checksums, the pointer
    return BuildReport(files=len(knowledge.sections), chunks=len(chunks), embedded=vectors.embedded,
                       reused=vectors.reused, tokenized=terms.tokenized, seconds=time.perf_counter() - started,
                       model_seconds=laps["model_load"], path=final, phases=dict(laps), not_reused=not_reused)


def _embed_chunks(chunks: list[Chunk], embedder: Any, previous: Path | None, settings: Settings,
                  progress: bool) -> _Vectors:
    """Vectors of every passage and of every passage's sentences, reusing the previous build's."""
    reusable = previous_vectors(previous)
    sentences = [c.sentence_texts for c in chunks]
    offsets = np.cumsum([0] + [len(s) for s in sentences]).astype(np.int64)
    flat_sentences = [t for group in sentences for t in group]
    fresh: dict[str, np.ndarray] = {}
    chunk_vectors, chunk_hashes, chunks_reused = _embed(
        [c.embedding_text for c in chunks], embedder.model_id, embedder, reusable, fresh,
        settings.embedding_batch_size, progress)
    sentence_vectors, sentence_hashes, sentences_reused = _embed(
        flat_sentences, embedder.model_id, embedder, reusable, fresh, settings.embedding_batch_size, progress)
    return _Vectors(chunk_vectors, sentence_vectors, offsets, chunk_hashes, sentence_hashes, embedded=len(fresh),
                    reused=chunks_reused + sentences_reused)


def _count_terms(knowledge: Knowledge, chunks: list[Chunk], previous: Path | None, laps: _Laps) -> _Terms:
    """Segment passages and sentences (reusing the previous build's counts) and index them for BM25."""
    words = user_words(knowledge, chunks)
    tokenizer = Tokenizer(words)
    laps.lap("tokenizer")  # jieba's dictionary is read from disk here, once per process
    chunk_terms, chunks_tokenized = TermCounts.count(
        [lexical_text(c) for c in chunks], tokenizer, previous_terms(previous, "lexical"))
    sentence_terms, sentences_tokenized = TermCounts.count(
        [fold(t) for c in chunks for t in c.sentence_texts], tokenizer,
        previous_terms(previous, "lexical_sentences"))
    laps.lap("segment")
    lexical, sentence_lexical = LexicalIndex.build(chunk_terms), RowLexicalIndex.build(sentence_terms)
    laps.lap("lexical")
    return _Terms(words, chunk_terms, sentence_terms, lexical, sentence_lexical,
                  tokenized=chunks_tokenized + sentences_tokenized)


def _write_and_publish(settings: Settings, knowledge: Knowledge, chunks: list[Chunk], embedder: Any,
                       vectors: _Vectors, terms: _Terms, laps: _Laps) -> Path:
    """Write the build into a staging folder, then rename it in and point ``CURRENT`` at it under the lock;
    a failure at any point removes the staging folder and leaves the current build as it was."""
    index_dir = settings.path("index_dir")
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    build_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    staging = builds / f".tmp-{build_id}-{os.getpid()}"
    staging.mkdir()
    try:
        vector_index_type = _write_files(staging, settings, knowledge, chunks, vectors, terms, laps)
        _write_manifest(staging, {
            "format": FORMAT_VERSION, "build_id": build_id, "built_at": now.isoformat(timespec="seconds"),
            "model_id": embedder.model_id, "model_fingerprint": embedder.fingerprint,
            "dimension": embedder.dimension, "chunk_count": len(chunks),
            "sentence_count": len(vectors.sentences), "section_count": len(knowledge.sections),
            "chunk_max_chars": settings.chunk_max_chars, "vector_index": vector_index_type,
        }, vectors)
        final = builds / build_id
        with publish_lock(index_dir):
            os.replace(staging, final)
            replace_pointer(index_dir, build_id)
            prune(index_dir, settings.index_keep_builds, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _write_files(staging: Path, settings: Settings, knowledge: Knowledge, chunks: list[Chunk], vectors: _Vectors,
                 terms: _Terms, laps: _Laps) -> str:
    """Every file of a build but the manifest; returns the FAISS index's type name."""
    np.save(staging / "vectors.npy", vectors.chunks)
    np.savez(staging / "sentences.npz", vectors=vectors.sentences.astype(np.float16), offsets=vectors.offsets)
    laps.lap("write")
    faiss_index = vector_index(vectors.chunks, settings)
    laps.lap("vector_index")
    faiss.write_index(faiss_index, str(staging / "faiss.index"))
    terms.lexical.save(staging, "lexical")
    terms.chunk_terms.save(staging, "lexical")
    terms.sentence_lexical.save_vocabulary(staging, "lexical_sentences")
    terms.sentence_terms.save(staging, "lexical_sentences")
    with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    _write_json(staging / "hashes.json", {"chunks": vectors.chunk_hashes, "sentences": vectors.sentence_hashes})
    _write_json(staging / "content.json", {
        "user_words": terms.user_words,
        "corpus_terms": corpus_terms(knowledge, chunks),
        "synonyms": [list(g) for g in knowledge.synonyms],
        "unit_groups": [{"units": list(g.units), "asked": list(g.asked)} for g in knowledge.units],
        "sentence_units": sentence_units(chunks),
        **content_to_json(Content.of(knowledge)),
    })
    return type(faiss_index).__name__


def _write_manifest(staging: Path, fields: dict[str, Any], vectors: _Vectors) -> None:
    """The manifest: ``fields``, a digest of the content, and every file's checksum and size."""
    files = {p.name: sha256_of(p) for p in sorted(staging.iterdir())}
    sizes = {p.name: p.stat().st_size for p in sorted(staging.iterdir())}
    content_digest = hashlib.sha256("".join(vectors.chunk_hashes + vectors.sentence_hashes).encode()
                                    + (staging / "content.json").read_bytes()).hexdigest()
    manifest = {**fields, "content_hash": content_digest, "files": files, "sizes": sizes}
    order = ["format", "build_id", "built_at", "model_id", "model_fingerprint", "dimension", "chunk_count",
             "sentence_count", "section_count", "content_hash", "chunk_max_chars", "vector_index", "files", "sizes"]
    _write_json(staging / "manifest.json", {key: manifest[key] for key in order})
