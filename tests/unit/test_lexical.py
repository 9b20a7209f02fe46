"""BM25 over jieba words and character bigrams: what the lexical side of the search promises."""

import numpy as np
import pytest
from scipy import sparse

from bot.lexical import LexicalIndex, RowLexicalIndex, TermCounts, Tokenizer
from bot.normalize import fold

PASSAGES = [
    "城市发展很快，城市建设很好，城市面貌一新。",
    "全市城市书房共有110家，总藏书120多万册。",
    "城市发展规划已经完成，城市交通更加便利。",
]


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(["城市书房"])


@pytest.fixture(scope="module")
def index(tokenizer):
    terms, _ = TermCounts.count([fold(p) for p in PASSAGES], tokenizer)
    return LexicalIndex.build(terms)


def _query(tokenizer, question):
    return {token: 1.0 for token in tokenizer.tokens(fold(question))}


def test_the_passage_with_the_rare_question_word_ranks_first(tokenizer, index):
    scores = index.scores(_query(tokenizer, "城市书房有多少家"))
    assert scores.argmax() == 1 and scores[1] > 2 * max(scores[0], scores[2])
    assert 0 < scores.max() <= 1.0  # divided by the best a passage could reach


def test_traditional_characters_find_the_same_passages(tokenizer, index):
    simplified = index.scores(_query(tokenizer, "城市书房的藏书"))
    traditional = index.scores(_query(tokenizer, "城市書房的藏書"))
    assert traditional.tolist() == pytest.approx(simplified.tolist())


def test_words_no_passage_has_lower_every_score_and_count_as_unseen(tokenizer, index):
    plain = index.scores(_query(tokenizer, "城市书房"))
    diluted = index.scores(_query(tokenizer, "城市书房 杭州 高铁 票价"))
    assert (diluted < plain)[plain > 0].all()
    assert index.unseen_share(_query(tokenizer, "杭州高铁票价")) == pytest.approx(1.0, abs=0.05)
    assert index.unseen_share(_query(tokenizer, "城市书房")) == 0.0


def test_coverage_is_what_a_passage_contains_not_how_often(tokenizer, index):
    coverage = index.coverage(_query(tokenizer, "城市书房藏书"))
    assert coverage[1] > 2 * coverage[0]
    assert coverage[0] == pytest.approx(coverage[2])  # 城市 three times or twice: the same share


def test_an_index_reads_back_as_it_was_saved(tokenizer, index, tmp_path):
    index.save(tmp_path, "lexical")
    loaded = LexicalIndex.load(tmp_path, "lexical")
    query = _query(tokenizer, "城市交通规划")
    assert loaded.scores(query).tolist() == pytest.approx(index.scores(query).tolist())


def test_a_rebuild_segments_only_changed_texts(tokenizer):
    texts = [fold(p) for p in PASSAGES]
    first, segmented = TermCounts.count(texts, tokenizer)
    assert segmented == 3
    again, segmented = TermCounts.count(texts[:2] + ["乡村书房新建20家。"], tokenizer, first)
    assert segmented == 1
    fresh, _ = TermCounts.count(texts[:2] + ["乡村书房新建20家。"], tokenizer)
    assert LexicalIndex.build(again).scores(_query(tokenizer, "乡村书房")).tolist() == pytest.approx(
        LexicalIndex.build(fresh).scores(_query(tokenizer, "乡村书房")).tolist())


def test_scores_of_some_rows_are_those_of_the_whole_index(tokenizer, index):
    terms, _ = TermCounts.count([fold(p) for p in PASSAGES], tokenizer)
    by_rows = RowLexicalIndex.build(terms)
    assert by_rows.counts.data.dtype == np.uint8  # counts this small take a byte each
    assert np.array_equal(by_rows.weights.toarray(), index.weights.toarray())
    for question in ("城市书房藏书", "城市交通 杭州", "高铁"):
        query = _query(tokenizer, question)
        assert by_rows.unseen_share(query) == index.unseen_share(query)
        for rows in ([2, 0], [1], []):
            scores, coverage = by_rows.row_scores(query, np.array(rows, dtype=np.int64))
            assert scores.tolist() == pytest.approx(index.scores(query)[rows].tolist())
            assert coverage.tolist() == pytest.approx(index.coverage(query)[rows].tolist())


def test_sentence_counts_hold_each_token_column_in_the_fewest_bytes_the_vocabulary_allows(tokenizer):
    terms, _ = TermCounts.count([fold(p) for p in PASSAGES], tokenizer)
    small = RowLexicalIndex.build(terms)
    assert len(small.vocabulary) <= 256 and small.counts.indices.dtype == np.uint8
    wide = RowLexicalIndex.of_counts({f"t{n}": n for n in range(70000)},
                                     sparse.csr_matrix(([1, 2], [0, 69999], [0, 1, 2]), shape=(2, 70000)),
                                     np.ones(70000, dtype=np.float32))
    assert wide.counts.indices.dtype == np.uint32 and wide.counts.indices.tolist() == [0, 69999]
    scores, _ = wide.row_scores({"t69999": 1.0}, np.array([1, 0]))
    assert scores[0] > 0 == scores[1]
