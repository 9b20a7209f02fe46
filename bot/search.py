"""Hybrid retrieval: dense (FAISS over sentence embeddings) and lexical (BM25) scores fused per passage.

The question is normalized (Traditional → Simplified, full-width → half-width), expanded with the
editors' synonyms and with same-sounding corpus words for input-method typos (脱位 → 托位), then both
retrievers score it. The bot abstains when the best passage is weak or covers too little of what the
question asks about (the rare, informative words), which is what off-topic questions look like.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from pypinyin import lazy_pinyin

from .chunking import Chunk
from .config import Settings
from .embedding import Embedder
from .figures import PERCENT, UNITS, extract_figures, may_give
from .index import Index
from .lexical import WORD
from .normalize import fold, normalize_query

_QUANTITY_QUESTION = re.compile(
    r"多少|几[个位家人年次岁天万亿名所座条项倍成届]|多大|多久|多长|多高|多远|多重|比例|占比|百分之几|"
    r"什么时候|何时|哪一?年|how (many|much)"
)
# words that only say a number is asked or given (几届, 多少钱, 一千个): what is counted, not what about
_AMOUNT_WORD = re.compile(rf"(?:几|多少).*|[0-9零一二两三四五六七八九十百千万亿]+(?:{'|'.join(UNITS)})?")
_ASPECT_PARTICLE = "了过着"  # 签了, 办过: the verb without its particle is what the article would say
_MEASURE_WORDS = frozenset(u for u in UNITS if len(u) == 1)
_MAGNITUDE_AND_UNIT = re.compile(f"[多余十百千万亿]+(?:{'|'.join(UNITS)})?")
# where a question names what it counts: right after 多少 / 几 and any magnitude (多少万人 → 人)
_AMOUNT_ASKED = re.compile(r"(?<!第)(?:多少|几)[十百千万亿]*")  # 第几 asks a rank, not an amount


@dataclass
class Hit:
    chunk: Chunk
    score: float  # what the hits are ranked by
    relevance: float  # the score before preferring the asked kind of amount: what abstention judges
    dense: float
    lexical: float
    sentence_scores: list[float] = field(default_factory=list)  # fused score of each sentence, in order


@dataclass
class QueryAnalysis:
    """What the search made of a question; kept for the reply, the eval's misses and debugging."""

    normalized: str
    words: list[str]
    expansions: dict[str, float]  # article terms added for synonyms and typos → their weight
    truncated: bool = False
    asked_units: frozenset[str] = frozenset()  # units of the amount asked for (元 for 多少钱), if any
    counted: str = ""  # the word right after 多少 / 几 that named them (钱); "" if they were inferred
    asks_amount: bool = False  # the question asks for a number (多少, 几个, 比例, 什么时候 …)


@dataclass
class SearchResult:
    query: QueryAnalysis
    hits: list[Hit]
    answered: bool
    coverage: float
    # why the bot abstains: "" (it answers), "off_topic", or "no_figure" (the topic is there, the number is not)
    abstain_reason: str = ""
    shown: list[Hit] = field(default_factory=list)  # the hits a reply may quote (see Searcher.shown)
    timings: dict[str, float] = field(default_factory=dict)


def _term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """One regex for every synonym term, longest first; English terms only as whole words."""
    parts = []
    for term in sorted((t for t in terms if len(t) >= 2), key=len, reverse=True):
        escaped = re.escape(term)
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if re.fullmatch(r"[a-z0-9 .\-]+", term) else escaped)
    return re.compile("|".join(parts)) if parts else None


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of ``words``, the longest first (none: a regex that never matches)."""
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


def pinyin_key(word: str) -> str:
    return " ".join(lazy_pinyin(word))


def homophone_table(words: list[str]) -> dict[str, list[str]]:
    """Pinyin (toneless) → corpus words of 2+ Chinese characters, for typo repair. Magnitudes with a unit
    (亿元, 余万) are left out: they are no one's typo, and 医院 sounds like 亿元, 鱼丸 like 余万."""
    table: dict[str, list[str]] = {}
    for word in words:
        if len(word) >= 2 and re.fullmatch(r"[\u3400-\u9fff]+", word) and not _MAGNITUDE_AND_UNIT.fullmatch(word):
            table.setdefault(pinyin_key(word), []).append(word)
    return table


class Searcher:
    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._synonyms = [tuple(fold(t) for t in group) for group in index.synonyms]
        self._groups_of: dict[str, list[int]] = {}
        for number, group in enumerate(self._synonyms):
            for term in group:
                self._groups_of.setdefault(term, []).append(number)
        self._term_pattern = _term_pattern(list(self._groups_of))
        vocabulary_words = [t[len(WORD):] for t in index.lexical.vocabulary if t.startswith(WORD)]
        self._homophones = homophone_table(vocabulary_words) if settings.pinyin_typo_fix else {}
        sections = {s: n for n, s in enumerate(dict.fromkeys(c.section for c in index.chunks))}
        self._section_of = np.array([sections[c.section] for c in index.chunks], dtype=np.int32)
        self._gives: dict[str, np.ndarray] = {}  # unit → which sentences give a figure in it
        for unit, rows in index.sentence_units.items():
            self._gives[unit] = np.zeros(len(index.sentence_vectors), dtype=bool)
            self._gives[unit][rows] = True
        # a unit asked for by name counts itself (多少家 → 家); the editors' groups widen or redirect it
        self._units_of = {unit: frozenset([unit]) for unit in (PERCENT, *UNITS)}
        for group in index.unit_groups:
            self._units_of.update({fold(word): frozenset(group.units) for word in group.asked})
        self._unit_word = _alternation(self._units_of)
        self._unit_word_anywhere = _alternation(
            w for group in index.unit_groups for w in map(fold, group.asked) if len(w) >= 2)

    # -- query analysis -------------------------------------------------------------------------
    def analyse(self, question: str) -> QueryAnalysis:
        limit = self.settings.max_question_chars
        truncated = len(question) > limit
        normalized = normalize_query(question[:limit])
        asked_units, counted = self._asked_units(normalized)
        # what a question counts (多少家, 几届, 钱 in 多少钱) is not what it is about, and a stray letter (the b of
        # <b>) says nothing: none of these is a topic word the passages have to cover
        words = [w for w in self.index.tokenizer.words(normalized)
                 if w not in _MEASURE_WORDS and w != counted and not _AMOUNT_WORD.fullmatch(w)
                 and not (len(w) == 1 and w.isascii())]
        weight = self.settings.synonym_weight
        expansions: dict[str, float] = {}
        corpus_terms = self.index.corpus_terms
        mentioned: dict[int, list[str]] = {}
        if self._term_pattern is not None:  # one pass; the longest term wins (自助图书馆 over 图书馆)
            for match in self._term_pattern.finditer(normalized):
                for number in self._groups_of[match.group(0)]:
                    mentioned.setdefault(number, []).append(match.group(0))
        for number, terms in mentioned.items():
            # the user's word already is the article's word: adding its synonyms would only add noise
            if not any(t in corpus_terms for t in terms):
                added = [t for t in self._synonyms[number] if t in corpus_terms]
                for term in added:  # together the alternatives weigh as much as one word
                    expansions[term] = max(expansions.get(term, 0.0), weight / len(added))
        vocabulary, tokenizer = self.index.lexical.vocabulary, self.index.tokenizer
        for word in words:  # an uncommon word the article does not use may be a typo of one it does
            if WORD + word not in vocabulary and tokenizer.frequency(word) < self.settings.pinyin_typo_max_frequency:
                for term in self._homophones.get(pinyin_key(word), []):
                    expansions[term] = weight
        return QueryAnalysis(normalized, words, expansions, truncated, asked_units, counted,
                             bool(_QUANTITY_QUESTION.search(normalized)))

    def _asked_units(self, text: str) -> tuple[frozenset[str], str]:
        """The units of the amount a question asks for, and the word right after 多少 / 几 that named them
        (个 may come between: 几个人); else the last editor's word of two or more characters in a question
        asking a number names them (the counted thing stands just before 是多少: 东岙村民户均年收入达到多少 →
        收入, not 村民), and stays a topic word."""
        for amount in _AMOUNT_ASKED.finditer(text):
            rest = text[amount.end():]
            word = self._unit_word.match(rest.removeprefix("个")) or self._unit_word.match(rest)
            if word:
                return self._units_of[word.group()], word.group()
        if not _QUANTITY_QUESTION.search(text):
            return frozenset(), ""
        words = self._unit_word_anywhere.findall(text)
        return (self._units_of[words[-1]] if words else frozenset()), ""

    def _weighted_tokens(self, query: QueryAnalysis) -> dict[str, float]:
        tokens: dict[str, float] = {}
        for token in self.index.tokenizer.tokens(query.normalized):
            tokens[token] = tokens.get(token, 0.0) + 1.0
        for term, weight in query.expansions.items():
            for token in self.index.tokenizer.tokens(term):
                tokens.setdefault(token, weight)
        return tokens

    # -- retrieval --------------------------------------------------------------------------------
    def search(self, question: str, top_k: int | None = None) -> SearchResult:
        top_k = top_k or self.settings.search_top_k
        clock = time.perf_counter
        timings: dict[str, float] = {}

        started = clock()
        query = self.analyse(question)
        timings["normalize"] = clock() - started

        started = clock()
        dense_text = " ".join([query.normalized, *query.expansions])
        vector = self.embedder.encode_query(dense_text)
        timings["encode"] = clock() - started

        started = clock()
        n_dense = min(self.settings.dense_candidates, self.index.vectors.ntotal)
        _, dense_ids = self.index.vectors.search(vector[None, :], n_dense)
        timings["dense"] = clock() - started

        started = clock()
        tokens = self._weighted_tokens(query)
        lexical = self.index.lexical.scores(tokens)
        sentence_lexical = self.index.sentence_lexical.scores(tokens)
        timings["lexical"] = clock() - started

        started = clock()
        hits = self._fuse(dense_ids[0], lexical, sentence_lexical, vector, top_k, query.asked_units)
        # judged on the most relevant passages, before any are moved up for giving the asked kind of amount
        coverage = self._coverage(query, sorted(hits, key=lambda h: -h.relevance)[:3])
        shown = self.shown(hits)
        reason = self._abstain_reason(query, hits, shown, coverage)
        timings["fuse"] = clock() - started
        return SearchResult(query, hits, not reason, coverage, reason, shown, timings)

    def _abstain_reason(self, query: QueryAnalysis, hits: list[Hit], shown_hits: list[Hit], coverage: float) -> str:
        settings = self.settings
        if (not hits or max(h.relevance for h in hits) < settings.abstain_min_score
                or coverage < settings.abstain_min_coverage):
            return "off_topic"
        if settings.abstain_without_figure and query.asks_amount:
            shown = [h.chunk.text for h in shown_hits]
            if not any(map(extract_figures, shown)):
                return "no_figure"
            # named what it counts (多少钱, 多少个座位) and the passages give other amounts, never that one
            if query.counted and not any(may_give(text, query.asked_units) for text in shown):
                return "no_figure"
        return ""

    def shown(self, hits: list[Hit]) -> list[Hit]:
        """The hits a reply shows: the first, and the next ones about as relevant as the best (reordering for the
        asked kind of amount changes which comes first, not which are shown)."""
        if not hits:
            return []
        floor = self.settings.reply_min_relative_score * max(h.relevance for h in hits)
        return [h for i, h in enumerate(hits[:self.settings.reply_passages]) if i == 0 or h.relevance >= floor]

    def _fuse(self, dense_ids: np.ndarray, lexical: np.ndarray, sentence_lexical: np.ndarray, vector: np.ndarray,
              top_k: int, asked_units: frozenset[str] = frozenset()) -> list[Hit]:
        """Candidates from both retrievers; each scored as a passage and by its best sentence, where a sentence
        that gives the kind of amount asked for (``asked_units``) scores higher."""
        candidates = set(dense_ids[dense_ids >= 0].tolist())
        n_lexical = min(self.settings.dense_candidates, len(lexical))
        if n_lexical:
            top_lexical = np.argpartition(-lexical, n_lexical - 1)[:n_lexical]
            candidates.update(top_lexical[lexical[top_lexical] > 0].tolist())
        if not candidates:
            return []
        ids = np.fromiter(sorted(candidates), dtype=np.int64)
        weight = self.settings.dense_weight
        chunk_dense = self.index.chunk_vectors[ids] @ vector
        chunk_score = weight * np.maximum(chunk_dense, 0) + (1 - weight) * lexical[ids]

        offsets = self.index.sentence_offsets
        starts, counts = offsets[ids], offsets[ids + 1] - offsets[ids]
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        sentence_dense = self.index.sentence_vectors[rows].astype(np.float32) @ vector
        sentence_score = weight * np.maximum(sentence_dense, 0) + (1 - weight) * sentence_lexical[rows]
        firsts = np.cumsum(counts) - counts
        share = self.settings.sentence_weight
        relevance = (1 - share) * chunk_score + share * np.maximum.reduceat(sentence_score, firsts)
        final = relevance
        giving = [self._gives[unit] for unit in asked_units if unit in self._gives]
        if giving and self.settings.answer_unit_weight:
            # among the best passage's sample's passages close enough to it to be shown, the sentence giving the
            # kind of amount asked for goes first; another sample's amounts answer another question
            best = int(np.argmax(relevance))
            close = ((relevance >= self.settings.reply_min_relative_score * relevance[best])
                     & (self._section_of[ids] == self._section_of[ids[best]]))
            gives = np.logical_or.reduce([mask[rows] for mask in giving]) & np.repeat(close, counts)
            sentence_score += self.settings.answer_unit_weight * gives
            final = (1 - share) * chunk_score + share * np.maximum.reduceat(sentence_score, firsts)
        order = np.lexsort((ids, -final))[:top_k]
        return [Hit(self.index.chunks[ids[i]], score=float(final[i]), relevance=float(relevance[i]),
                    dense=float(chunk_dense[i]), lexical=float(lexical[ids[i]]),
                    sentence_scores=sentence_score[firsts[i]:firsts[i] + counts[i]].tolist())
                for i in order]

    def _coverage(self, query: QueryAnalysis, hits: list[Hit]) -> float:
        """Share of the question's informative weight (IDF of its words) that the best passages contain.

        A word counts as found if it, one of its expansions, or (for unknown words) most of its character
        bigrams occur in the passages. Unknown words weigh the most, which is what sinks off-topic questions.
        """
        if not query.words or not hits:
            return 0.0
        lexical = self.index.lexical
        text = " ".join(fold(h.chunk.embedding_text) for h in hits)
        expansions = " ".join(query.expansions)
        total = found = 0.0
        for word in dict.fromkeys(query.words):
            col = lexical.vocabulary.get(WORD + word)
            weight = float(lexical.idf[col]) if col is not None else lexical.unseen_idf()
            total += weight
            stem = word.rstrip(_ASPECT_PARTICLE) if col is None else word
            if stem and stem in text or (expansions and self._expansion_found(word, query, text)):
                found += weight
            elif len(word) >= 3:
                bigrams = [word[i:i + 2] for i in range(len(word) - 1)]
                found += weight * sum(b in text for b in bigrams) / len(bigrams)
        return found / total if total else 0.0

    def _expansion_found(self, word: str, query: QueryAnalysis, text: str) -> bool:
        related = [t for group in self._synonyms if word in group for t in group]
        related += self._homophones.get(pinyin_key(word), [])
        return any(t in text for t in related if t in query.expansions)
