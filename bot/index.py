"""Building, saving and loading the index: FAISS vectors, BM25 matrix, passages and a manifest.

Each build is written into its own folder under ``index/builds/``; only when it is complete does the
``index/CURRENT`` pointer move to it (an atomic rename), so a build that fails half-way, or a reader that
loads while a build runs, always sees a whole index. Vectors of passages whose text (and model) did not
change are taken from the previous build instead of being embedded again, but only from a build that
verifies (every file's checksum) and was made by the same model files (fingerprint) and dimension, so a
rebuild repairs a damaged index instead of copying the damage. An unusable ``CURRENT`` is ignored by
``build`` and refused with a clear message by readers. Publishing and pruning old builds happen under a
lock (``index/.lock``), so concurrent builds never leave ``CURRENT`` pointing at a pruned build.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunking import Chunk, chunk_knowledge, content_hash, split_sentences
from .config import Settings, available_cores
from .embedding import model_id
from .errors import IndexLoadError
from .figures import figure_units
from .knowledge import Article, Knowledge, UnitGroup, load_knowledge
from .lexical import LexicalIndex, TermCounts, Tokenizer
from .normalize import fold

FORMAT_VERSION = 2  # 2: figure units of sentences, unit groups
POINTER = "CURRENT"
BUILDS = "builds"
LOCK = ".lock"
_BUILD_ID = re.compile(r"\d{8}T\d{12}Z")  # what build_index names its builds (UTC time to microseconds)
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


@dataclass
class Index:
    """A loaded, validated index: everything the search needs, read-only."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: faiss.Index  # passages, for the nearest-neighbour candidates
    chunk_vectors: np.ndarray  # passages, float32, for exact scores of candidates
    sentence_vectors: np.ndarray  # sentences, float16 (half the memory; only candidates' rows are used)
    sentence_offsets: np.ndarray  # passage i has sentences offsets[i]:offsets[i+1]
    lexical: LexicalIndex
    sentence_lexical: LexicalIndex
    tokenizer: Tokenizer
    synonyms: list[tuple[str, ...]]
    corpus_terms: frozenset[str]
    unit_groups: list[UnitGroup]
    sentence_units: dict[str, np.ndarray]  # unit → rows of the sentences giving a figure in it
    sections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]


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
        for sentence in split_sentences(chunk.text):
            for unit in figure_units(sentence):
                rows.setdefault(unit, []).append(row)
            row += 1
    return dict(sorted(rows.items()))


def lexical_text(chunk: Chunk) -> str:
    return fold(chunk.embedding_text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def vector_index(vectors: np.ndarray, settings: Settings) -> faiss.Index:
    """Exact inner product up to ``exact_search_max`` passages, HNSW above it (recall reported by bench)."""
    dimension = vectors.shape[1]
    if len(vectors) <= settings.exact_search_max:
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(settings.embedding_threads or available_cores())  # serving may have set 1
    try:
        index.add(vectors)
    finally:
        faiss.omp_set_num_threads(threads)
    return index


class _Owned:
    """Memory owned by another object, seen by numpy: the array made from it keeps the owner alive."""

    def __init__(self, array: np.ndarray, owner: Any) -> None:
        self.__array_interface__ = array.__array_interface__
        self.owner = owner


def stored_vectors(index: faiss.Index) -> np.ndarray | None:
    """The float32 vectors a flat or HNSW-flat FAISS index holds, as a read-only numpy view, so the search
    does not keep a second copy (200 MB at 100k passages); None for other index types."""
    storage = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if not isinstance(storage, faiss.IndexFlat):
        return None
    if storage.ntotal == 0:
        return np.zeros((0, storage.d), dtype=np.float32)
    raw = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)
    view = np.asarray(_Owned(raw, index))
    view.flags.writeable = False
    return view


def current_build(index_dir: Path) -> Path | None:
    """The build ``CURRENT`` names; None when there is no pointer. A pointer that is not a build id of a
    build folder here (garbled, a folder, pointing elsewhere) raises IndexLoadError saying how to repair it."""
    pointer = index_dir / POINTER
    if not pointer.exists() and not pointer.is_symlink():
        return None
    repair = "run `python -m bot build` to publish a fresh build"
    try:
        name = pointer.read_bytes().decode("ascii").strip()
    except IsADirectoryError:
        raise IndexLoadError(f"the index pointer {pointer} is a folder, not a file; remove it and {repair}") from None
    except OSError as exc:
        raise IndexLoadError(f"the index pointer {pointer} cannot be read ({exc.strerror}); {repair}") from None
    except UnicodeDecodeError:
        raise IndexLoadError(f"the index pointer {pointer} is garbled; {repair}") from None
    if not _BUILD_ID.fullmatch(name):
        raise IndexLoadError(f"the index pointer {pointer} does not name a build; {repair}")
    build = index_dir / BUILDS / name
    if not build.is_dir():
        raise IndexLoadError(f"the index pointer {pointer} names build {name}, which is missing; {repair}")
    return build


def verify_build(build: Path, checksums: bool = True) -> dict[str, Any]:
    """The build's manifest once every file it lists is there with its size (and, with ``checksums``, its
    content hash); IndexLoadError naming the first file that differs."""
    try:
        manifest = json.loads((build / "manifest.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index build {build} is unreadable ({_reason(exc)}); rebuild with "
                             "`python -m bot build`") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION \
            or not isinstance(manifest.get("files"), dict):
        raise IndexLoadError(f"index build {build} has an unknown format; rebuild with `python -m bot build`")
    sizes = manifest.get("sizes") or {}
    for name, digest in manifest["files"].items():
        path = build / name
        if not path.is_file():
            raise IndexLoadError(f"index file {path} is missing; rebuild with `python -m bot build`")
        if name in sizes and path.stat().st_size != sizes[name]:
            raise IndexLoadError(f"index file {path} is damaged (size differs); rebuild with `python -m bot build`")
        if checksums and _sha256(path) != digest:
            raise IndexLoadError(f"index file {path} is damaged (checksum differs); rebuild with `python -m bot build`")
    return manifest


def _reason(exc: BaseException) -> str:
    """An exception in a few words, never the content of the file that caused it."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON at line {exc.lineno}"
    return type(exc).__name__


def _reusable_build(index_dir: Path, embedder: Any) -> tuple[Path | None, str]:
    """The current build when its vectors and counts may be reused: it verifies (every file's checksum) and
    was made by this very model (id, fingerprint, dimension). Otherwise None and why not."""
    try:
        build = current_build(index_dir)
        if build is None:
            return None, ""
        manifest = verify_build(build)
    except IndexLoadError as exc:
        return None, str(exc)
    same_model = (manifest.get("model_id") == embedder.model_id and manifest.get("dimension") == embedder.dimension
                  and manifest.get("model_fingerprint") == embedder.fingerprint)
    if not same_model:
        return None, f"index build {build.name} was made by another model or other model files"
    return build, ""


def _previous_vectors(build: Path | None) -> dict[str, np.ndarray]:
    """Passage and sentence vectors of a verified build by content hash (empty if none or unusable)."""
    if build is None:
        return {}
    try:
        hashes = json.loads((build / "hashes.json").read_text(encoding="utf-8"))
        chunk_vectors = np.load(build / "vectors.npy", allow_pickle=False)
        with np.load(build / "sentences.npz", allow_pickle=False) as stored:
            sentence_vectors = stored["vectors"]
        if len(hashes["chunks"]) != len(chunk_vectors) or len(hashes["sentences"]) != len(sentence_vectors):
            return {}
    except Exception:  # a build that verified but does not read (another writer, a bug): embed afresh
        return {}
    # sentences first: where a passage is one sentence, its exact float32 vector wins over the float16 copy
    return {**dict(zip(hashes["sentences"], sentence_vectors)), **dict(zip(hashes["chunks"], chunk_vectors))}


def _previous_terms(build: Path | None, name: str) -> TermCounts | None:
    """Token counts of a verified build's texts, to skip segmenting unchanged ones (None if unusable)."""
    if build is None:
        return None
    try:
        return TermCounts.load(build, name)
    except Exception:  # as above: segment afresh
        return None


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


def _replace_pointer(index_dir: Path, build_id: str) -> None:
    temporary = index_dir / f".{POINTER}.{os.getpid()}"
    temporary.write_text(build_id + "\n", encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    if (index_dir / POINTER).is_dir():  # a pointer that is a folder cannot be replaced by a rename
        shutil.rmtree(index_dir / POINTER)
    os.replace(temporary, index_dir / POINTER)


@contextlib.contextmanager
def _publish_lock(index_dir: Path) -> Iterator[None]:
    """One publisher at a time: renaming a build in, moving the pointer and pruning happen together, so a
    concurrent build never prunes the build another is about to point to."""
    with (index_dir / LOCK).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _prune(index_dir: Path, keep: int, current: Path) -> None:
    """Delete all but the newest ``keep`` builds, never the current one; and builds that died half-way."""
    builds = index_dir / BUILDS
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and _BUILD_ID.fullmatch(p.name)),
                      key=lambda p: p.name)
    for old in finished[:-max(1, keep)]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in builds.glob(".tmp-*"):
        with contextlib.suppress(OSError):  # another build may finish or clean it meanwhile
            if time.time() - leftover.stat().st_mtime > 3600:
                shutil.rmtree(leftover, ignore_errors=True)


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

    index_dir = settings.path("index_dir")
    previous, not_reused = _reusable_build(index_dir, embedder)
    reusable = _previous_vectors(previous)
    sentences = [c.sentence_texts for c in chunks]
    offsets = np.cumsum([0] + [len(s) for s in sentences]).astype(np.int64)
    flat_sentences = [t for group in sentences for t in group]
    fresh: dict[str, np.ndarray] = {}
    chunk_vectors, chunk_hashes, chunks_reused = _embed(
        [c.embedding_text for c in chunks], embedder.model_id, embedder, reusable, fresh,
        settings.embedding_batch_size, progress)
    sentence_vectors, sentence_hashes, sentences_reused = _embed(
        flat_sentences, embedder.model_id, embedder, reusable, fresh, settings.embedding_batch_size, progress)
    laps.lap("embed")

    words = user_words(knowledge, chunks)
    tokenizer = Tokenizer(words)
    laps.lap("tokenizer")  # jieba's dictionary is read from disk here, once per process
    chunk_terms, chunks_tokenized = TermCounts.count(
        [lexical_text(c) for c in chunks], tokenizer, _previous_terms(previous, "lexical"))
    sentence_terms, sentences_tokenized = TermCounts.count(
        [fold(t) for t in flat_sentences], tokenizer, _previous_terms(previous, "lexical_sentences"))
    laps.lap("segment")
    lexical, sentence_lexical = LexicalIndex.build(chunk_terms), LexicalIndex.build(sentence_terms)
    laps.lap("lexical")

    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    build_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    staging = builds / f".tmp-{build_id}-{os.getpid()}"
    staging.mkdir()
    try:
        np.save(staging / "vectors.npy", chunk_vectors)
        np.savez(staging / "sentences.npz", vectors=sentence_vectors.astype(np.float16), offsets=offsets)
        laps.lap("write")
        faiss_index = vector_index(chunk_vectors, settings)
        laps.lap("vector_index")
        faiss.write_index(faiss_index, str(staging / "faiss.index"))
        for name, index, terms in (("lexical", lexical, chunk_terms),
                                   ("lexical_sentences", sentence_lexical, sentence_terms)):
            index.save(staging, name)
            terms.save(staging, name)
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        _write_json(staging / "hashes.json", {"chunks": chunk_hashes, "sentences": sentence_hashes})
        _write_json(staging / "content.json", {
            "user_words": words,
            "corpus_terms": corpus_terms(knowledge, chunks),
            "synonyms": [list(g) for g in knowledge.synonyms],
            "unit_groups": [{"units": list(g.units), "asked": list(g.asked)} for g in knowledge.units],
            "sentence_units": sentence_units(chunks),
            "sections": [
                {"id": s.id, "label": s.label, "title": s.title, "heading": s.heading, "area": s.area,
                 "article": s.article, "authors": list(s.authors), "paragraphs": list(s.paragraphs),
                 "article_id": s.article_id, "short_heading": s.short_heading,
                 **_article_fields(knowledge.article(s.article_id))}
                for s in knowledge.sections
            ],
        })
        files = {p.name: _sha256(p) for p in sorted(staging.iterdir())}
        sizes = {p.name: p.stat().st_size for p in sorted(staging.iterdir())}
        content_digest = hashlib.sha256("".join(chunk_hashes + sentence_hashes).encode()
                                        + (staging / "content.json").read_bytes()).hexdigest()
        _write_json(staging / "manifest.json", {
            "format": FORMAT_VERSION, "build_id": build_id, "built_at": now.isoformat(timespec="seconds"),
            "model_id": embedder.model_id, "model_fingerprint": embedder.fingerprint,
            "dimension": embedder.dimension, "chunk_count": len(chunks),
            "sentence_count": len(flat_sentences), "section_count": len(knowledge.sections),
            "content_hash": content_digest, "chunk_max_chars": settings.chunk_max_chars,
            "vector_index": type(faiss_index).__name__, "files": files, "sizes": sizes,
        })
        final = builds / build_id
        with _publish_lock(index_dir):
            os.replace(staging, final)
            _replace_pointer(index_dir, build_id)
            _prune(index_dir, settings.index_keep_builds, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    laps.lap("write")  # the files, their checksums, the pointer
    return BuildReport(files=len(knowledge.sections), chunks=len(chunks), embedded=len(fresh),
                       reused=chunks_reused + sentences_reused,
                       tokenized=chunks_tokenized + sentences_tokenized, seconds=time.perf_counter() - started,
                       model_seconds=laps["model_load"], path=final, phases=dict(laps), not_reused=not_reused)


def _article_fields(article: Article | None) -> dict[str, str]:
    """Date, publisher and address of a section's article, for the reply's 出处 ('' when not known)."""
    return {"date": article.date if article else "", "source": article.source if article else "",
            "url": article.url if article else ""}


def read_manifest(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The current build folder and its manifest, or a clear error saying how to build one."""
    build = current_build(index_dir)
    if build is None:
        raise IndexLoadError(f"no index in {index_dir}: run `python -m bot build` first")
    try:
        manifest = json.loads((build / "manifest.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index build {build} is unreadable ({_reason(exc)}); run `python -m bot build` "
                             "again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexLoadError(f"index build {build} has an unknown format; run `python -m bot build` again")
    return build, manifest


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


def check_current_build(settings: Settings) -> tuple[Path, dict[str, Any]]:
    """The current build and its manifest once its files are all there at their recorded sizes and it was made
    by the configured model (by id: no model needs loading); IndexLoadError otherwise. Cheap: no checksums."""
    build, manifest = read_manifest(settings.path("index_dir"))
    verify_build(build, checksums=False)
    check_model(manifest, settings, model_id(settings.embedding_model))
    return build, manifest


def load_index(settings: Settings, expected_model_id: str, verify: bool = True, fingerprint: str | None = None,
               dimension: int | None = None) -> Index:
    """Load the current build whole or not at all: checksums, counts and model must all agree."""
    build, manifest = read_manifest(settings.path("index_dir"))
    check_model(manifest, settings, expected_model_id, fingerprint, dimension)
    try:
        verify_build(build, checksums=verify)
        lines = (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        chunks = [Chunk(**json.loads(line)) for line in lines]
        vectors = faiss.read_index(str(build / "faiss.index"))
        chunk_vectors = stored_vectors(vectors)
        if chunk_vectors is None:
            chunk_vectors = np.load(build / "vectors.npy")
        with np.load(build / "sentences.npz") as stored:
            sentence_vectors, offsets = stored["vectors"], stored["offsets"]
        lexical = LexicalIndex.load(build, "lexical")
        sentence_lexical = LexicalIndex.load(build, "lexical_sentences")
        content = json.loads((build / "content.json").read_text(encoding="utf-8"))
        units = {unit: np.asarray(rows, dtype=np.int64) for unit, rows in content["sentence_units"].items()}
        unit_groups = [UnitGroup(tuple(g["units"]), tuple(g["asked"])) for g in content["unit_groups"]]
    except IndexLoadError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise IndexLoadError(f"index build {build} is unreadable ({exc}); rebuild with `python -m bot build`") from None
    count = manifest.get("chunk_count")
    consistent = (
        len(chunks) == vectors.ntotal == lexical.size == len(chunk_vectors) == count == len(offsets) - 1
        and int(offsets[-1]) == len(sentence_vectors) == sentence_lexical.size == manifest.get("sentence_count")
        and vectors.d == chunk_vectors.shape[1] == manifest.get("dimension")
        and all(len(rows) == 0 or 0 <= rows.min() <= rows.max() < len(sentence_vectors) for rows in units.values())
    )
    if not consistent:
        raise IndexLoadError(f"index build {build} is inconsistent (passage counts differ); rebuild the index")
    if hasattr(vectors, "hnsw"):
        vectors.hnsw.efSearch = settings.hnsw_ef_search
    return Index(path=build, manifest=manifest, chunks=chunks, vectors=vectors, chunk_vectors=chunk_vectors,
                 sentence_vectors=sentence_vectors, sentence_offsets=offsets, lexical=lexical,
                 sentence_lexical=sentence_lexical,
                 tokenizer=Tokenizer(content["user_words"]), synonyms=[tuple(g) for g in content["synonyms"]],
                 corpus_terms=frozenset(content["corpus_terms"]), unit_groups=unit_groups,
                 sentence_units=units, sections=content["sections"])
