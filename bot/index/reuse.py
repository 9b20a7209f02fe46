"""Reuse of the previous build: vectors and token counts of texts that did not change are taken from it instead
of being computed again, but only from a build that verifies (every file's checksum) and was made by the same
model files (fingerprint) and dimension, so a rebuild repairs a damaged index instead of copying the damage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexLoadError
from ..lexical import TermCounts
from .builds import current_build, verify_build


def reusable_build(index_dir: Path, embedder: Any) -> tuple[Path | None, str]:
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


def previous_vectors(build: Path | None) -> dict[str, np.ndarray]:
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


def previous_terms(build: Path | None, name: str) -> TermCounts | None:
    """Token counts of a verified build's texts, to skip segmenting unchanged ones (None if unusable)."""
    if build is None:
        return None
    try:
        return TermCounts.load(build, name)
    except Exception:  # as above: segment afresh
        return None

