"""The sentence vectors as serving holds them: int8 codes read block by block from the build's float16 file."""

from __future__ import annotations

import io

import numpy as np
import pytest

from bot.index.vectors import QuantizedVectors


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _unit_rows(count: int, dimension: int = 32) -> np.ndarray:
    rows = np.random.default_rng(3).normal(size=(count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_scores_from_quantized_vectors_stay_within_a_percent_of_the_stored_ones() -> None:
    stored = _unit_rows(50)
    vectors = QuantizedVectors.read_npy(io.BytesIO(_npy(stored.astype(np.float16))), block_rows=7)
    query = _unit_rows(1)[0]
    rows = np.array([0, 6, 7, 49])
    assert len(vectors) == 50
    assert np.allclose(vectors.dot(rows, query), stored[rows] @ query, atol=0.01)


def test_a_cut_vector_file_is_refused_with_how_far_it_got() -> None:
    whole = _npy(_unit_rows(40).astype(np.float16))
    cut = whole[: len(whole) - 32 * 2 * 5 - 1]  # the last five rows and a byte gone
    with pytest.raises(ValueError, match="end after 34 of 40 rows"):
        QuantizedVectors.read_npy(io.BytesIO(cut), block_rows=16)


def test_vectors_stored_as_anything_but_a_float_matrix_are_refused() -> None:
    with pytest.raises(ValueError, match="sentence vectors stored as"):
        QuantizedVectors.read_npy(io.BytesIO(_npy(np.zeros((4, 3, 2), np.float16))))
