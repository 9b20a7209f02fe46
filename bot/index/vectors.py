"""The FAISS index of passage vectors (exact up to a size, HNSW above it, and the vectors it holds as numpy) and the
sentence vectors, quantized."""

from __future__ import annotations

from typing import IO, Any

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



class QuantizedVectors:
    """Sentence vectors as int8 with one float32 scale per sentence: a quarter of float32's memory (the build
    stores float16; quantizing at load keeps every build's files as they are). Only candidates' rows are read."""

    def __init__(self, codes: np.ndarray, scales: np.ndarray) -> None:
        self.codes, self.scales = codes, scales

    def __len__(self) -> int:
        return len(self.codes)

    def dot(self, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Inner products of the given rows with a float32 vector (within about 1% of a vector's length)."""
        return (self.codes[rows].astype(np.float32) @ vector) * self.scales[rows]

    @classmethod
    def read_npy(cls, stream: IO[bytes], block_rows: int = 16384) -> QuantizedVectors:
        """Quantized from an .npy stream block by block, so the stored array is never held whole (345 MB of
        float16 at 337,000 sentences)."""
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(stream)
        if fortran_order or len(shape) != 2 or dtype.kind != "f":
            raise ValueError(f"sentence vectors stored as {dtype} {shape}, fortran order {fortran_order}")
        codes, scales = np.empty(shape, dtype=np.int8), np.empty(shape[0], dtype=np.float32)
        row_bytes = shape[1] * dtype.itemsize
        for start in range(0, shape[0], block_rows):
            count = min(block_rows, shape[0] - start)
            raw = stream.read(count * row_bytes)
            if len(raw) != count * row_bytes:  # a cut file: refused here, whatever checked it before
                read = start + len(raw) // max(row_bytes, 1)
                raise ValueError(f"sentence vectors end after {read} of {shape[0]} rows")
            cls._fill(codes, scales, start, np.frombuffer(raw, dtype=dtype).reshape(count, shape[1]))
        return cls(codes, scales)

    @staticmethod
    def _fill(codes: np.ndarray, scales: np.ndarray, start: int, block: np.ndarray) -> None:
        block = block.astype(np.float32)
        scale = np.abs(block).max(axis=1, initial=0.0) / 127
        scale[scale == 0] = 1.0
        codes[start:start + len(block)] = np.rint(block / scale[:, None])
        scales[start:start + len(block)] = scale
