"""The FAISS index of passage vectors: exact up to a size, HNSW above it, and the vectors it holds as numpy."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from ..config import Settings, available_cores


def vector_index(vectors: np.ndarray, settings: Settings) -> faiss.Index:
    """Exact inner product up to ``exact_search_max`` passages, HNSW above it (recall reported by bench)."""
    dimension = vectors.shape[1]
    index: faiss.Index
    if len(vectors) <= settings.exact_search_max:
        index = faiss.IndexFlatIP(dimension)
    else:
        hnsw = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = settings.hnsw_ef_construction
        index = hnsw
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

