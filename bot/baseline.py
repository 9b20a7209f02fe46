"""The textbook Chinese lexical retriever, run beside the bot in `eval` so the margin over it is measured.

BM25 (k1 1.2, b 0.75) over jieba words plus character bigrams, Traditional folded to Simplified on both
sides: the sparse half of the usual open-source RAG stacks. It ranks the bot's own passages (title + text),
always answers, and has none of the bot's synonyms, typo repair or sentence scoring.
"""

from __future__ import annotations

from collections import Counter

import jieba
import numpy as np
from scipy import sparse

from .chunking import Chunk
from .normalize import to_simplified

K1, B = 1.2, 0.75


def baseline_tokens(text: str) -> list[str]:
    text = to_simplified(text)
    words = [w for w in jieba.lcut(text) if w.strip()]
    kept = [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
    return words + [a + b for a, b in zip(kept, kept[1:])]


class BaselineBM25:
    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for row, chunk in enumerate(chunks):
            tokens = baseline_tokens(f"{chunk.title} {chunk.text}")
            tf = Counter(vocabulary.setdefault(t, len(vocabulary)) for t in tokens)
            rows += [row] * len(tf)
            cols += tf.keys()
            counts += tf.values()
        tf_matrix = sparse.csr_matrix((np.asarray(counts, dtype=np.float32), (rows, cols)),
                                      shape=(len(chunks), len(vocabulary)))
        lengths = np.asarray(tf_matrix.sum(axis=1)).ravel()
        df = np.bincount(tf_matrix.indices, minlength=len(vocabulary))
        idf = np.log1p((len(chunks) - df + 0.5) / (df + 0.5))
        norm = K1 * (1 - B + B * lengths / max(lengths.mean(), 1e-9))
        row_of = np.repeat(np.arange(len(chunks)), np.diff(tf_matrix.indptr))
        data = tf_matrix.data
        tf_matrix.data = (idf[tf_matrix.indices] * data * (K1 + 1) / (data + norm[row_of])).astype(np.float32)
        self.weights = tf_matrix.tocsc()
        self.vocabulary = vocabulary

    def rank(self, question: str, top_k: int = 5) -> list[Chunk]:
        cols = [self.vocabulary[t] for t in set(baseline_tokens(question)) if t in self.vocabulary]
        if not cols:
            return self.chunks[:top_k]
        scores = np.asarray(self.weights[:, cols].sum(axis=1)).ravel()
        return [self.chunks[i] for i in np.argsort(-scores, kind="stable")[:top_k]]
