"""Lexical side of the hybrid search: BM25 as a sparse matrix over jieba words and character bigrams.

jieba gives words (侨家乐, 城市书房) where they are known; character bigrams catch what segmentation
misses (typos, unknown names, short questions). Scores are one sparse column-slice sum per query, so the
cost grows with the matches, not with a Python loop over every passage; sentences are stored by rows and only
the candidates' are scored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
from scipy import sparse

from .chunking import content_hash
from .normalize import fold

jieba.setLogLevel(logging.WARNING)  # its INFO lines about loading the dictionary are noise on every command

# raise it when a change to folding or to this module changes the tokens of a text
TOKENIZER_VERSION = 3  # 3: NFKC before Traditional → Simplified
K1 = 1.2
B = 0.75
WORD, BIGRAM = "w:", "b:"

# Function words and question words carry no topic: they neither score nor count for coverage.
STOPWORDS = frozenset(
    "的 了 是 在 有 和 与 及 或 也 都 就 还 又 吗 呢 吧 啊 呀 嘛 哦 么 么样 啥 咋 咋样 怎 怎么 怎么样 怎样 如何 "
    "什么 哪 哪些 哪个 哪里 哪儿 几 几个 多少 多大 多久 是否 是不是 有没有 能不能 可以 能 会 要 想 请 请问 问 "
    "一下 介绍 说说 讲讲 告诉 我 我们 你 你们 他 她 它 这 那 这个 那个 这些 那些 个 些 给 把 被 让 对 从 到 为 "
    "为了 由 向 上 下 里 中 来 去 过 着 没 没有 不 很 最 更 多 大 小 一 一个 之 其 等 方面 情况 问题 一共 总共 "
    "分别 各 各有 现在 目前 我市 咱们 这边 那边 这块 搞 做 干嘛 干 达到 达 了吗 不能 能否 有无 为什么 起 叫 说 "
    "一些 还有 以及 关于 方面 那个 这个 哪家 谁 啥样 多吗 好吗 行吗 没 了没 啦 咯 呗 哟 嘞 哇 噢 喔 哈 呐 到底 究竟 "
    "其实 ? ? ! 。 , ，".split()
)
_CJK = re.compile(r"[\u3400-\u9fff]+")
_TOKEN_SPLIT = re.compile(r"[\s\W_]+", re.UNICODE)


_BASE_DICTIONARY: tuple[dict[str, int], int] | None = None
_BASE_LOCK = threading.Lock()


def _fresh_jieba() -> jieba.Tokenizer:
    """A jieba tokenizer with the default dictionary: read from disk once per process (~1 s cold), then
    copied (~10 ms), so a rebuild or an index reload does not pay the dictionary load again. The copy is
    taken from jieba's default tokenizer, which part-of-speech tagging (bot.subjects) uses too: one load
    serves both."""
    global _BASE_DICTIONARY
    with _BASE_LOCK:
        if _BASE_DICTIONARY is None:
            jieba.dt.initialize()
            _BASE_DICTIONARY = (jieba.dt.FREQ, jieba.dt.total)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(_BASE_DICTIONARY[0]), _BASE_DICTIONARY[1]
    tokenizer.initialized = True
    return tokenizer


class Tokenizer:
    """Folded text → weighted tokens: jieba search-mode words plus CJK character bigrams."""

    def __init__(self, user_words: Sequence[str] = ()) -> None:
        self._jieba = _fresh_jieba()
        for word in user_words:
            self._add_word(word)
        # what decides the tokens of a text besides the text: a build reuses counts only when it is unchanged
        self.fingerprint = hashlib.sha256(json.dumps(
            [TOKENIZER_VERSION, jieba.__version__, sorted(STOPWORDS), list(user_words)], ensure_ascii=False,
        ).encode()).hexdigest()

    def _add_word(self, word: str) -> None:
        word = fold(word)
        if len(word) > 1 and not _TOKEN_SPLIT.fullmatch(word):
            self._jieba.add_word(word, freq=2000)

    def frequency(self, word: str) -> int:
        """How common ``word`` is in jieba's dictionary of general Chinese (0 if it is not there)."""
        return self._jieba.FREQ.get(word) or 0

    def words(self, folded: str, search_mode: bool = False) -> list[str]:
        """Content words; search mode also yields the parts of long words (城市书房 → 城市, 书房, 城市书房)."""
        cut = self._jieba.cut_for_search if search_mode else self._jieba.cut
        result = []
        for word in cut(folded):
            word = word.strip()
            if word and word not in STOPWORDS and not _TOKEN_SPLIT.fullmatch(word):
                result.append(word)
        return result

    def tokens(self, folded: str) -> list[str]:
        tokens = [WORD + w for w in self.words(folded, search_mode=True)]
        for run in _CJK.findall(folded):
            tokens.extend(BIGRAM + run[i:i + 2] for i in range(len(run) - 1))
        return tokens


@dataclass
class TermCounts:
    """How often each token occurs in each text (rows × tokens), with a key per row so the next build
    takes the counts of unchanged texts instead of segmenting them again (most of a rebuild's time)."""

    vocabulary: dict[str, int]
    counts: sparse.csr_matrix  # int32
    keys: list[str]  # content hash of the tokenizer's fingerprint and the text

    @classmethod
    def count(cls, texts: list[str], tokenizer: Tokenizer, previous: TermCounts | None = None,
              ) -> tuple[TermCounts, int]:
        """Counts for folded ``texts``, reusing ``previous`` rows by key; also how many texts were segmented."""
        keys = [content_hash(tokenizer.fingerprint, t) for t in texts]
        old_row = {k: i for i, k in enumerate(previous.keys)} if previous else {}
        vocabulary = dict(previous.vocabulary) if previous else {}
        reused_at: list[int] = []
        reused_from: list[int] = []
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for row, (key, text) in enumerate(zip(keys, texts)):
            if key in old_row:
                reused_at.append(row)
                reused_from.append(old_row[key])
                continue
            tf = Counter(vocabulary.setdefault(t, len(vocabulary)) for t in tokenizer.tokens(text))
            rows.extend([row] * len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        row_index, col_index, data = (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                                      np.asarray(counts, dtype=np.int32))
        if previous and reused_at:
            taken = previous.counts[np.asarray(reused_from)].tocoo()
            row_index = np.concatenate([row_index, np.asarray(reused_at, dtype=np.int64)[taken.row]])
            col_index = np.concatenate([col_index, taken.col.astype(np.int64)])
            data = np.concatenate([data, taken.data.astype(np.int32)])
        matrix = sparse.csr_matrix((data, (row_index, col_index)), shape=(len(texts), len(vocabulary)))
        used = np.bincount(matrix.indices, minlength=len(vocabulary)) > 0
        if not used.all():  # tokens only the removed texts had
            column = np.cumsum(used) - 1
            vocabulary = {t: int(column[c]) for t, c in vocabulary.items() if used[c]}
            matrix = matrix[:, np.flatnonzero(used)].tocsr()
        return cls(vocabulary, matrix, keys), len(texts) - len(reused_at)

    def save(self, directory: Path, name: str) -> None:
        sparse.save_npz(directory / f"{name}.counts.npz", self.counts, compressed=False)
        (directory / f"{name}.keys.json").write_text(json.dumps(self.keys), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, name: str) -> TermCounts:
        """The counts a build saved (``save_vocabulary`` wrote the vocabulary beside them)."""
        vocabulary = json.loads((directory / f"{name}.vocabulary.json").read_text(encoding="utf-8"))
        keys = json.loads((directory / f"{name}.keys.json").read_text(encoding="utf-8"))
        counts = sparse.load_npz(directory / f"{name}.counts.npz").tocsr()
        if counts.shape != (len(keys), len(vocabulary)):
            raise ValueError(f"{name}: counts do not match keys and vocabulary")
        return cls(vocabulary, counts, keys)


def _slices(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions ``starts[i]:ends[i]`` one after the other, without a Python loop."""
    counts = ends - starts
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def _idf(counts: sparse.csr_matrix) -> np.ndarray:
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float32)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)


def _length_norm(counts: sparse.csr_matrix) -> np.ndarray:
    """BM25's length normalisation of each text (row), float32."""
    lengths = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
    average = float(lengths.mean()) if counts.shape[0] else 1.0
    return K1 * (1 - B + B * lengths / max(average, 1e-6))


def _bm25_weights(counts: np.ndarray, norm: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """BM25 weight of each entry from its count, its text's norm and its token's IDF (float32 throughout)."""
    data = counts.astype(np.float32)
    return (data * (K1 + 1) / (data + norm) * idf).astype(np.float32)


@dataclass
class _Vocabulary:
    """What both lexical indexes share: the tokens' columns, their IDF, and BM25 from a query's entries."""

    vocabulary: dict[str, int]
    idf: np.ndarray

    @property
    def size(self) -> int:
        raise NotImplementedError

    def unseen_idf(self) -> float:
        """The weight of a token no passage has: the rarest possible."""
        return float(math.log1p((self.size + 0.5) / 0.5))

    def save_vocabulary(self, directory: Path, name: str) -> None:
        """The tokens' columns and IDF, which both indexes load (the counts are ``TermCounts.save``'s)."""
        np.save(directory / f"{name}.idf.npy", self.idf)
        (directory / f"{name}.vocabulary.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False),
                                                            encoding="utf-8")

    def query_vector(self, weighted_tokens: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Columns and weights of the query's known tokens."""
        cols, weights = [], []
        for token, weight in weighted_tokens.items():
            col = self.vocabulary.get(token)
            if col is not None:
                cols.append(col)
                weights.append(weight)
        return np.asarray(cols, dtype=np.int64), np.asarray(weights, dtype=np.float32)

    def _bm25(self, weighted_tokens: dict[str, float], cols: np.ndarray, weights: np.ndarray, row_of: np.ndarray,
              which: np.ndarray, data: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and coverage of ``size`` texts from the entries of the query's tokens: each entry's text (row
        of the result), its token (position in ``cols``) and its BM25 weight. Scores are divided by the best a
        text could reach (so 0…~1); tokens no text has count in that ceiling at the rarest weight, so a question
        that is mostly about something else (温州 + 杭州 + 高铁) scores low even where its one common word
        matches. Coverage is the share of the query's token weight (× IDF) a text contains at all, however often:
        what a text lacks, not how much it repeats."""
        if len(cols) == 0:
            return np.zeros(size, dtype=np.float32), np.zeros(size, dtype=np.float32)
        mass = self.idf[cols] * weights
        total = float(mass.sum()) + sum(w for t, w in weighted_tokens.items()
                                        if t not in self.vocabulary) * self.unseen_idf()
        scores = np.bincount(row_of, weights=data * weights[which], minlength=size).astype(np.float32)
        found = np.bincount(row_of, weights=mass[which], minlength=size)
        return scores / ((K1 + 1) * total), (found / total).astype(np.float32)

    def unseen_share(self, weighted_tokens: dict[str, float]) -> float:
        """Share of the query's token weight that no passage has."""
        cols, weights = self.query_vector(weighted_tokens)
        unseen = sum(w for t, w in weighted_tokens.items() if t not in self.vocabulary) * self.unseen_idf()
        total = float((self.idf[cols] * weights).sum()) + unseen
        return unseen / total if total else 1.0


@dataclass
class LexicalIndex(_Vocabulary):
    """BM25 weights of every (passage, token) pair, stored column-wise: a query slices its tokens' columns and
    scores every passage."""

    weights: sparse.csc_matrix  # passages × tokens

    @classmethod
    def build(cls, terms: TermCounts) -> LexicalIndex:
        tf_matrix = terms.counts
        row_of = np.repeat(np.arange(tf_matrix.shape[0]), np.diff(tf_matrix.indptr))
        idf = _idf(tf_matrix)
        weighted = _bm25_weights(tf_matrix.data, _length_norm(tf_matrix)[row_of], idf[tf_matrix.indices])
        matrix = sparse.csr_matrix((weighted, tf_matrix.indices, tf_matrix.indptr), shape=tf_matrix.shape)
        return cls(terms.vocabulary, idf, matrix.tocsc())

    @property
    def size(self) -> int:
        return self.weights.shape[0]

    def scores(self, weighted_tokens: dict[str, float]) -> np.ndarray:
        """BM25 score of every passage (see ``_bm25``)."""
        return self.scores_and_coverage(weighted_tokens)[0]

    def coverage(self, weighted_tokens: dict[str, float]) -> np.ndarray:
        """Share of the query's token weight each passage contains (see ``_bm25``)."""
        return self.scores_and_coverage(weighted_tokens)[1]

    def scores_and_coverage(self, weighted_tokens: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """``scores`` and ``coverage`` of every passage, in one pass over the query's columns (slicing the CSC
        arrays directly: the same as ``weights[:, cols]`` in well under half the time, scipy's checks dominate)."""
        cols, weights = self.query_vector(weighted_tokens)
        matrix = self.weights
        entries = _slices(matrix.indptr[cols], matrix.indptr[cols + 1])
        which = np.repeat(np.arange(len(cols)), np.diff(matrix.indptr)[cols])
        return self._bm25(weighted_tokens, cols, weights, matrix.indices[entries], which, matrix.data[entries],
                          self.size)

    def save(self, directory: Path, name: str) -> None:
        sparse.save_npz(directory / f"{name}.npz", self.weights, compressed=False)
        self.save_vocabulary(directory, name)

    @classmethod
    def load(cls, directory: Path, name: str) -> LexicalIndex:
        weights = sparse.load_npz(directory / f"{name}.npz").tocsc()
        idf = np.load(directory / f"{name}.idf.npy")
        vocabulary = json.loads((directory / f"{name}.vocabulary.json").read_text(encoding="utf-8"))
        return cls(vocabulary, idf, weights)


@dataclass(frozen=True)
class RowCounts:
    """Term counts by row as CSR's three arrays, the columns in two bytes when the vocabulary fits (scipy would
    widen them to four: 54 MB at 337,000 sentences) and the counts in the smallest unsigned type they fit in."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, counts: sparse.csr_matrix) -> RowCounts:
        data = counts.data.astype(np.min_scalar_type(int(counts.data.max()) if counts.nnz else 0))
        return cls(data, counts.indices.astype(np.min_scalar_type(max(counts.shape[1] - 1, 0))), counts.indptr,
                   counts.shape)


@dataclass
class RowLexicalIndex(_Vocabulary):
    """BM25 of texts of which a query scores only a few rows (the sentences of its candidate passages): the
    term counts by rows, in one byte where they fit, and each row's length norm; the weights are computed for
    the rows asked, as ``LexicalIndex.build`` computes them (the same float32 steps), in a third of the memory
    of stored weights."""

    counts: RowCounts  # texts × tokens
    norm: np.ndarray  # float32 per text: BM25's length normalisation

    @classmethod
    def build(cls, terms: TermCounts) -> RowLexicalIndex:
        return cls.of_counts(terms.vocabulary, terms.counts, _idf(terms.counts))

    @classmethod
    def of_counts(cls, vocabulary: dict[str, int], counts: sparse.csr_matrix, idf: np.ndarray) -> RowLexicalIndex:
        return cls(vocabulary, idf, RowCounts.of(counts), _length_norm(counts))

    @classmethod
    def load(cls, directory: Path, name: str) -> RowLexicalIndex:
        """From the term counts and IDF a build saved (``TermCounts.save``, ``save_vocabulary``)."""
        counts = sparse.load_npz(directory / f"{name}.counts.npz").tocsr()
        idf = np.load(directory / f"{name}.idf.npy")
        vocabulary = json.loads((directory / f"{name}.vocabulary.json").read_text(encoding="utf-8"))
        if counts.shape != (counts.shape[0], len(vocabulary)) or len(idf) != len(vocabulary):
            raise ValueError(f"{name}: counts, IDF and vocabulary do not match")
        return cls.of_counts(vocabulary, counts, idf)

    @property
    def size(self) -> int:
        return self.counts.shape[0]

    @property
    def weights(self) -> sparse.csr_matrix:
        """Every BM25 weight (for checks; the search computes only the rows it scores)."""
        counts = self.counts
        row_of = np.repeat(np.arange(self.size), np.diff(counts.indptr))
        return sparse.csr_matrix((_bm25_weights(counts.data, self.norm[row_of], self.idf[counts.indices]),
                                  counts.indices, counts.indptr), shape=counts.shape)

    def row_scores(self, weighted_tokens: dict[str, float], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``LexicalIndex.scores`` and ``coverage`` of the given rows only (the same to float rounding), at a
        cost that grows with the tokens of those rows, not with every text holding a query token: the sentences
        of a question's candidates are a few hundred of the 300,000 of 100,000 passages."""
        cols, weights = self.query_vector(weighted_tokens)
        if len(cols) == 0:
            return np.zeros(len(rows), dtype=np.float32), np.zeros(len(rows), dtype=np.float32)
        counts = self.counts
        starts, ends = counts.indptr[rows], counts.indptr[rows + 1]
        entries = _slices(starts, ends)
        order = np.argsort(cols)
        ordered = cols[order]
        tokens = counts.indices[entries]
        at = np.minimum(np.searchsorted(ordered, tokens), len(ordered) - 1)
        asked = ordered[at] == tokens  # the entries of the query's tokens
        row_of = np.repeat(np.arange(len(rows)), ends - starts)[asked]
        which = order[at[asked]]
        data = _bm25_weights(counts.data[entries[asked]], self.norm[rows[row_of]], self.idf[cols[which]])
        return self._bm25(weighted_tokens, cols, weights, row_of, which, data, len(rows))
