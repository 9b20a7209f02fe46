"""Loading a build: its manifest, the model it was made by, and every file it lists, whole or not at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import faiss
import numpy as np

from ..chunking import Chunk
from ..config import Settings
from ..embedding import model_id
from ..errors import DamagedBuildError, IndexLoadError
from ..knowledge import Content, Section, UnitGroup, content_from_json
from ..lexical import LexicalIndex, RowLexicalIndex, Tokenizer
from .builds import FORMAT_VERSION, current_build, finished_builds, reason, verify_build
from .vectors import QuantizedVectors, stored_vectors

_Loaded = TypeVar("_Loaded")


@dataclass
class Index:
    """A loaded, validated index: everything the search needs, read-only."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index  # passages, for the nearest-neighbour candidates
    chunk_vectors: np.ndarray  # passages, float32, for exact scores of candidates
    sentence_vectors: QuantizedVectors  # sentences, int8 + a scale each (only candidates' rows are used)
    sentence_offsets: np.ndarray  # passage i has sentences offsets[i]:offsets[i+1]
    lexical: LexicalIndex
    sentence_lexical: RowLexicalIndex  # only the candidates' sentences are scored
    tokenizer: Tokenizer
    synonyms: list[tuple[str, ...]]
    corpus_terms: frozenset[str]
    unit_groups: list[UnitGroup]
    sentence_units: dict[str, np.ndarray]  # unit → rows of the sentences giving a figure in it
    content: Content = field(default_factory=Content)
    fallback: str = ""  # why this is not the build CURRENT names (that one is damaged), "" when it is
    passed_over: str = ""  # the id of that damaged build, "" when none was passed over

    @property
    def sections(self) -> tuple[Section, ...]:
        return self.content.sections

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]


def read_manifest(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The current build folder and its manifest, or a clear error saying how to build one."""
    build = current_build(index_dir)
    if build is None:
        raise IndexLoadError(f"no index in {index_dir}: run `python -m bot build` first")
    return build, build_manifest(build)


def build_manifest(build: Path) -> dict[str, Any]:
    """A build's manifest: DamagedBuildError when it cannot be read, IndexLoadError when it is of another format."""
    try:
        manifest = json.loads((build / "manifest.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DamagedBuildError(f"index build {build} is unreadable ({reason(exc)}); run `python -m bot build` "
                                "again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexLoadError(f"index build {build} has an unknown format; run `python -m bot build` again")
    return manifest


def _servable(index_dir: Path, attempt: Callable[[Path], _Loaded], fallback: bool) -> tuple[_Loaded, str, str]:
    """``attempt`` on the build CURRENT names; when that one is damaged and ``fallback`` is on, on the newest
    other build that passes it, with a warning naming both and the id of the damaged one. A damaged build is
    never half-loaded: with no intact build the damage is raised."""
    current = current_build(index_dir)
    if current is None:
        raise IndexLoadError(f"no index in {index_dir}: run `python -m bot build` first")
    try:
        return attempt(current), "", ""
    except DamagedBuildError as damage:
        if not fallback:
            raise
        for older in (b for b in finished_builds(index_dir) if b != current):
            try:
                loaded = attempt(older)
            except IndexLoadError:  # damaged too, another model or format: the next one
                continue
            return loaded, (f"index build {current.name} (named by CURRENT) is damaged: {damage}; serving the "
                            f"newest intact build {older.name} instead until a rebuild"), current.name
        raise


def check_model(manifest: dict[str, Any], settings: Settings, model_id: str, fingerprint: str | None = None,
                dimension: int | None = None) -> None:
    """IndexLoadError unless the build was made by the configured model: its id, and when known its files'
    fingerprint and its dimension (a model folder swapped at the same path has the same id)."""
    fix = "rebuild with `python -m bot build` or change the setting back"
    if manifest.get("model_id") != model_id:
        raise IndexLoadError(
            f"the index was built with embedding model '{manifest.get('model_id')}' but the setting "
            f"embedding_model is '{settings.embedding_model}' ({model_id}); {fix}")
    if fingerprint is not None and manifest.get("model_fingerprint") != fingerprint:
        raise IndexLoadError(
            f"the files of embedding model '{settings.embedding_model}' changed since the index was built "
            "(fingerprint differs); rebuild with `python -m bot build`")
    if dimension is not None and manifest.get("dimension") != dimension:
        raise IndexLoadError(
            f"the index holds {manifest.get('dimension')}-dimensional vectors but embedding model "
            f"'{settings.embedding_model}' makes {dimension}-dimensional ones; rebuild with `python -m bot build`")


def check_current_build(settings: Settings, fallback: bool = True) -> tuple[Path, dict[str, Any], str]:
    """The build to serve and its manifest once its files are all there at their recorded sizes and it was made
    by the configured model (by id: no model needs loading); IndexLoadError otherwise. Cheap: no checksums.
    With ``fallback``, a damaged current build gives way to the newest intact one; the third value says so."""
    def attempt(build: Path) -> tuple[Path, dict[str, Any]]:
        manifest = build_manifest(build)
        verify_build(build, checksums=False)
        check_model(manifest, settings, model_id(settings.embedding_model))
        return build, manifest

    (build, manifest), warning, _ = _servable(settings.path("index_dir"), attempt, fallback)
    return build, manifest, warning


def load_index(settings: Settings, expected_model_id: str, verify: bool = True, fingerprint: str | None = None,
               dimension: int | None = None, fallback: bool = False) -> Index:
    """Load the current build whole or not at all: checksums, counts and model must all agree. With
    ``fallback`` (serving starts, ``ask``), a damaged current build gives way to the newest intact one, and
    ``Index.fallback`` says so."""
    def attempt(build: Path) -> Index:
        manifest = build_manifest(build)
        check_model(manifest, settings, expected_model_id, fingerprint, dimension)
        return _load_build(build, manifest, settings, verify)

    index, warning, passed_over = _servable(settings.path("index_dir"), attempt, fallback)
    index.fallback, index.passed_over = warning, passed_over
    return index


def _read_chunks(path: Path) -> list[Chunk]:
    """The passages, line by line (no second copy of the whole file in memory); the names passages share (their
    section, title, heading) held once, not once per passage (tens of MB at 100,000 passages)."""
    shared: dict[str, str] = {}
    chunks = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = json.loads(line)
            for name in ("section", "title", "heading"):
                fields[name] = shared.setdefault(fields[name], fields[name])
            chunks.append(Chunk(**fields))
    return chunks


def _load_build(build: Path, manifest: dict[str, Any], settings: Settings, verify: bool) -> Index:
    """Every file of a build, checked against the manifest and against each other."""
    try:
        verify_build(build, checksums=verify)
        chunks = _read_chunks(build / "chunks.jsonl")
        vectors = faiss.read_index(str(build / "faiss.index"))
        chunk_vectors = stored_vectors(vectors)
        if chunk_vectors is None:
            chunk_vectors = np.load(build / "vectors.npy")
        with np.load(build / "sentences.npz") as stored:
            offsets = stored["offsets"]
            with stored.zip.open("vectors.npy") as stream:
                sentence_vectors = QuantizedVectors.read_npy(stream)
        lexical = LexicalIndex.load(build, "lexical")
        sentence_lexical = RowLexicalIndex.load(build, "lexical_sentences")  # from the counts: a third of the MB
        content = json.loads((build / "content.json").read_text(encoding="utf-8"))
        units = {unit: np.asarray(rows, dtype=np.int64) for unit, rows in content["sentence_units"].items()}
        unit_groups = [UnitGroup(tuple(g["units"]), tuple(g["asked"])) for g in content["unit_groups"]]
        articles_and_sections = content_from_json(content)
    except IndexLoadError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise DamagedBuildError(f"index build {build} is unreadable ({exc}); rebuild with `python -m bot build`") \
            from None
    count = manifest.get("chunk_count")
    consistent = (
        len(chunks) == vectors.ntotal == lexical.size == len(chunk_vectors) == count == len(offsets) - 1
        and int(offsets[-1]) == len(sentence_vectors) == sentence_lexical.size == manifest.get("sentence_count")
        and vectors.d == chunk_vectors.shape[1] == manifest.get("dimension")
        and all(len(rows) == 0 or 0 <= rows.min() <= rows.max() < len(sentence_vectors) for rows in units.values())
    )
    if not consistent:
        raise DamagedBuildError(f"index build {build} is inconsistent (passage counts differ); rebuild the index")
    if hasattr(vectors, "hnsw"):
        vectors.hnsw.efSearch = settings.hnsw_ef_search
    return Index(path=build, manifest=manifest, chunks=chunks, vectors=vectors, chunk_vectors=chunk_vectors,
                 sentence_vectors=sentence_vectors, sentence_offsets=offsets, lexical=lexical,
                 sentence_lexical=sentence_lexical,
                 tokenizer=Tokenizer(content["user_words"]), synonyms=[tuple(g) for g in content["synonyms"]],
                 corpus_terms=frozenset(content["corpus_terms"]), unit_groups=unit_groups,
                 sentence_units=units, content=articles_and_sections)
