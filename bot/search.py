"""Hybrid retrieval: candidates from dense (FAISS) and lexical (BM25) search, ranked by a fitted model.

The question is folded like the content (Traditional → Simplified, full-width → half-width), expanded with
the editors' synonyms and with same-sounding corpus words for input-method typos (脱位 → 托位), then both
retrievers propose passages. Each candidate gets a dozen features (passage and best-sentence scores, how
much of the question it covers, title match, whether it gives the kind of answer asked for: an amount, a
date, the unit counted) and the fitted model in ``bot/ranking.json`` ranks them and says how likely the
question is answerable at all; the bot abstains below ``abstain_min_score``.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .chunking import Chunk
from .config import Settings
from .embedding import Embedder
from .figures import (
    ASKS_CURRENT,
    ASKS_EARLIER,
    DATE_UNITS,
    HOW_MUCH,
    PERCENT,
    UNITS,
    asked_kinds,
    era_year,
    is_asked_head,
)
from .index import Index
from .lexical import BIGRAM, WORD
from .normalize import fold, normalize_query
from .pin_match import PinMatch, PinModel, PinnedQuestion, PinTable, bigrams
from .ranking import PASSAGE_FEATURES, RankingModel, load_model, sigmoid
from .subjects import subject_words, tagged

if TYPE_CHECKING:
    from .knowledge import UnitGroup

_QUANTITY_QUESTION = re.compile(
    rf"多少|(?<![好这那哪])几[个位家人年次岁天万亿名所座条项倍成届]|{HOW_MUCH}[大久长高远重]|比例|占比|百分之几|"
    r"什么时候|何时|哪一?年|how (many|much)"
)
_COUNTED_NOUN = re.compile(r"(?<!第)(?:多少|(?<![好这那哪])几)个([\u3400-\u9fff]{2})")
_UNIT_SET = frozenset(UNITS)
_DATE_QUESTION = re.compile(r"什么时候|何时|哪一?年|哪一?天|几月|哪个月|几号|几日|什么时间|年份|日期|when")
# words that only say a number is asked or given (几届, 多少钱, 一千个): what is counted, not what about
_AMOUNT_WORD = re.compile(rf"(?:几|多少).*|[0-9零一二两三四五六七八九十百千万亿]+(?:{'|'.join(UNITS)})?")
_ASPECT_PARTICLE = "了过着"  # 签了, 办过: the verb without its particle is what the article would say
_MEASURE_WORDS = frozenset(u for u in UNITS if len(u) == 1)
_CHINESE = re.compile(r"[\u3400-\u9fff]+")
_MAX_PHRASES = 64  # phrases an abbreviation is tried against, at most, while it is read character by character
_MAGNITUDE_AND_UNIT = re.compile(f"[多余十百千万亿]+(?:{'|'.join(UNITS)})?")
# where a question names what it counts: right after 多少 / 几 and any magnitude (多少万人 → 人)
# 第几 asks a rank, not an amount; 好几, 这几 say "several" and 哪几 asks which ones: they do not ask
_AMOUNT_ASKED = re.compile(r"(?<!第)(?:多少|(?<![好这那哪])几)[十百千万亿]*")
# a listed asked word that holds its own question word (哪一年, 多长时间, 几成) is a way of asking, not a noun counted
_QUESTION_PHRASE = re.compile(r"多少|几|什么|哪|何|多[大长高远重深宽厚快久]")
_NOUN_FLAG = "n"  # jieba's part-of-speech tags of nouns all start with n (n, nz, ns …); 青年 is t, 低收入 n


@dataclass
class Hit:
    chunk: Chunk
    score: float  # the fitted probability that the passage holds the answer: what hits are ranked by
    dense: float
    lexical: float
    sentence_scores: list[float] = field(default_factory=list)  # lexical score of each sentence, in order
    sentence_dense: list[float] = field(default_factory=list)  # cosine of each sentence with the question
    sentence_coverage: list[float] = field(default_factory=list)  # share of the question's tokens it contains


@dataclass
class QueryAnalysis:
    """What the search made of a question; kept for the reply, the eval's misses and debugging."""

    normalized: str
    words: list[str]
    expansions: dict[str, float]  # article terms added for synonyms and typos → their weight
    repairs: dict[str, list[str]] = field(default_factory=dict)  # an unknown word → the article terms it stands for
    truncated: bool = False
    asked_units: frozenset[str] = frozenset()  # units of the amount asked for (元 for 多少钱), if any
    # units of the editors' groups (knowledge/units.yaml) other than the asked one: a figure in them is of
    # another kind of amount (1400多万人次 is no number of people), empty where no group is asked
    other_units: frozenset[str] = frozenset()
    counted: str = ""  # the word right after 多少 / 几 that named them (钱); "" if they were inferred
    # the nouns a figure standing right before them counts as what is asked (514个村社 for 多少个村社): the
    # counted noun; asked by the unit itself (多少人), every listed noun of its group (3/4的温州市民: 市民)
    counted_nouns: tuple[str, ...] = ()
    noun: str = ""  # what 个 counts, as the question writes it (多少个村社 → 村社): "514个村社" gives it
    asks_amount: bool = False  # the question asks for a number (多少, 几个, 比例, 什么时候 …)
    named_units: frozenset[str] = frozenset()  # units it names as what it counts (多少钱 → 元), asking one amount
    asked_kinds: frozenset[str] = frozenset()  # kinds of figure asked for (money, date, rank, length …)
    asks_earlier: bool = False  # asks for the value before a change (以前是多少)
    asks_current: bool = False  # asks for the value now or after a change (现在是多少, 提高到多少)
    asks_when: bool = False  # asks when and nothing else (什么时候获批, 哪一年): see asks_only_when
    subject: tuple[str, ...] = ()  # the nouns the question is about (bot.subjects)
    weights: dict[str, float] = field(default_factory=dict)  # each word and subject word → IDF (rarest if unseen)


@dataclass
class Candidates:
    """Passages proposed for a question and their features (rows in PASSAGE_FEATURES order)."""

    query: QueryAnalysis
    ids: np.ndarray
    features: np.ndarray
    sentence_lexical: np.ndarray  # each candidate's sentences in turn
    sentence_dense: np.ndarray  # the same sentences' cosine with the question
    sentence_coverage: np.ndarray  # the same sentences' share of the question's tokens
    counts: np.ndarray  # how many sentences each candidate has
    chunk_dense: np.ndarray
    unseen: float  # share of the question's token weight no passage has
    timings: dict[str, float] = field(default_factory=dict)
    pin: PinMatch | None = None  # the pin that answers the question (its passage is among the candidates)


@dataclass
class SearchResult:
    query: QueryAnalysis
    hits: list[Hit]
    answered: bool
    coverage: float
    answerable: float  # the fitted probability that the best passages answer the question
    # why the bot abstains: "" (it answers) or "off_topic" (the answer step may still find the figure not given)
    abstain_reason: str = ""
    shown: list[Hit] = field(default_factory=list)  # the hits a reply may quote (see Searcher.shown)
    timings: dict[str, float] = field(default_factory=dict)
    pin: PinMatch | None = None  # the pin that answered: its passage is the one shown


def _term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """One regex for every synonym term, longest first; English terms only as whole words."""
    parts = []
    for term in sorted((t for t in terms if len(t) >= 2), key=len, reverse=True):
        escaped = re.escape(term)
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if re.fullmatch(r"[a-z0-9 .\-]+", term) else escaped)
    return re.compile("|".join(parts)) if parts else None


def asks_only_when(normalized: str) -> bool:
    """Whether a (normalized) question asks when and nothing else: a date question (什么时候, 哪一年) whose
    words ask no other kind (报销比例什么时候提高 asks a share too) and no amount besides (什么时候成立，有多少
    员工); a noun the editors count (项目 in 项目什么时候获批) is not what it asks."""
    return asks_date(normalized) and asked_kinds(normalized) <= {"date"} \
        and not _AMOUNT_ASKED.search(era_year().sub("", _DATE_QUESTION.sub("", normalized)))


def asks_date(normalized: str) -> bool:
    """Whether a (normalized) question asks a date: 什么时候, 哪一年, 几月, or a year in an era's count (西元几年)."""
    return bool(_DATE_QUESTION.search(normalized) or era_year().search(normalized))


def asked_endings(groups: Iterable[UnitGroup], min_words: int) -> dict[str, frozenset[str]]:
    """What a noun the editors did not list counts, by its last character: the units of the group whose listed
    asked words of two or more characters end in it (员 ← 党员, 专员: 人 名 位; 书 ← 图书, 藏书: 册; 率 ← 利率 …: %),
    kept where every listed word ending in it is of that one group (本: 成本 is money, 本 counts books: neither)
    and at least ``min_words`` of them are nouns, not ways of asking (哪一年, 多长时间 give no 年 nor 间)."""
    ending: dict[str, set[frozenset[str]]] = {}
    nouns: dict[str, int] = {}
    for group in groups:
        for word in map(fold, group.asked):
            ending.setdefault(word[-1], set()).add(frozenset(group.units))
            if len(word) >= 2 and not _QUESTION_PHRASE.search(word):
                nouns[word[-1]] = nouns.get(word[-1], 0) + 1
    return {char: next(iter(units)) for char, units in ending.items()
            if len(units) == 1 and nouns.get(char, 0) >= min_words}


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of ``words``, the longest first (none: a regex that never matches)."""
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


@functools.lru_cache(maxsize=8192)  # the same passages come back answer after answer: fold each once
def _folded(text: str) -> str:
    return fold(text)


def pinyin_key(word: str) -> str:
    from pypinyin import lazy_pinyin  # ~0.4 s to import: paid by the first question with an unknown word

    return " ".join(lazy_pinyin(word))


def homophone_table(words: list[str]) -> dict[str, list[str]]:
    """Pinyin (toneless) → corpus words of 2+ Chinese characters, for typo repair. Magnitudes with a unit
    (亿元, 余万) are left out: they are no one's typo, and 医院 sounds like 亿元, 鱼丸 like 余万."""
    table: dict[str, list[str]] = {}
    for word in words:
        if len(word) >= 2 and re.fullmatch(r"[\u3400-\u9fff]+", word) and not _MAGNITUDE_AND_UNIT.fullmatch(word):
            table.setdefault(pinyin_key(word), []).append(word)
    return table


class _LexicalPass:
    """The passages' BM25 and coverage of one question and their best ``dense_candidates``: the part of the
    search that needs no question vector, so it can run on a thread of its own beside the encoder."""

    def __init__(self, searcher: Searcher, query: QueryAnalysis) -> None:
        self.searcher, self.query = searcher, query
        self.seconds = 0.0
        self.top: list[int] = []
        self._found: tuple[dict[str, float], np.ndarray, np.ndarray] | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        started = time.perf_counter()
        try:
            tokens = self.searcher._weighted_tokens(self.query)
            lexical, coverage = self.searcher.index.lexical.scores_and_coverage(tokens)
            self.top = self.searcher._top(lexical, self.searcher.settings.dense_candidates)
            self._found = tokens, lexical, coverage
        except BaseException as exc:  # raised again on the asking thread, which handles it as before
            self._error = exc
        self.seconds = time.perf_counter() - started

    def result(self) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        if self._error is not None:
            raise self._error
        assert self._found is not None, "the lexical pass has not run"
        return self._found


class Searcher:
    def __init__(self, index: Index, embedder: Embedder, settings: Settings,
                 model: RankingModel | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.model = model or load_model()
        self.pins: PinTable | None = None  # reviewed pins (bot.pin_match), set by the engine
        folded_titles = {title: fold(title) for title in {c.title for c in index.chunks}}
        self._titles = [folded_titles[c.title] for c in index.chunks]
        self._synonyms = [tuple(fold(t) for t in group) for group in index.synonyms]
        self._groups_of: dict[str, list[int]] = {}
        for number, group in enumerate(self._synonyms):
            for term in group:
                self._groups_of.setdefault(term, []).append(number)
        self._term_pattern = _term_pattern(list(self._groups_of))
        self._gives: dict[str, np.ndarray] = {}  # unit → which sentences give a figure in it
        for unit, rows in index.sentence_units.items():
            self._gives[unit] = np.zeros(len(index.sentence_vectors), dtype=bool)
            self._gives[unit][rows] = True
        none = np.zeros(len(index.sentence_vectors), dtype=bool)
        self._gives_number = np.logical_or.reduce([none, *self._gives.values()])
        self._gives_date = np.logical_or.reduce([none, *(self._gives[u] for u in DATE_UNITS if u in self._gives)])
        # a unit asked for by name counts itself (多少家 → 家); the editors' groups widen or redirect it
        self._units_of = {unit: frozenset([unit]) for unit in (PERCENT, *UNITS)}
        for unit_group in index.unit_groups:
            self._units_of.update({fold(word): frozenset(unit_group.units) for word in unit_group.asked})
        self._unit_word = _alternation(self._units_of)
        self._unit_word_anywhere = _alternation(
            w for group in index.unit_groups for w in map(fold, group.asked) if len(w) >= 2)
        self._unit_groups = index.unit_groups
        self._group_units = [frozenset(group.units) for group in index.unit_groups]
        self._endings = asked_endings(index.unit_groups, settings.asked_ending_min_words)

    # -- query analysis -------------------------------------------------------------------------
    def analyse(self, question: str) -> QueryAnalysis:
        limit = self.settings.max_question_chars
        truncated = len(question) > limit
        normalized = normalize_query(question[:limit])
        asked_units, counted = self._asked_units(normalized)
        noun = _COUNTED_NOUN.search(normalized)
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
        repairs: dict[str, list[str]] = {}
        for word in words:  # an uncommon word the article does not use: a typo or an abbreviation of one it does
            if WORD + word not in vocabulary and tokenizer.frequency(word) < self.settings.pinyin_typo_max_frequency:
                repairs[word] = self._repairs(word)
                for term in repairs[word]:
                    expansions[term] = weight
        asks_amount = bool(_QUANTITY_QUESTION.search(normalized)) or counted in _UNIT_SET  # 几秒钟, 几种, 几部
        kinds = asked_kinds(normalized, asked_units) | ({"date"} if asks_date(normalized) else set())
        subject = tuple(dict.fromkeys(w for w, _ in subject_words(normalized)))
        single = len(_AMOUNT_ASKED.findall(normalized)) <= 1  # 多少名…多少个: each part its own kind
        named = asked_units if counted and single else frozenset()
        other = frozenset().union(*(g for g in self._group_units if not g & asked_units)) \
            if any(g & asked_units for g in self._group_units) else frozenset()
        return QueryAnalysis(normalized, words, expansions, repairs, truncated, asked_units, other, counted,
                             self._counted_nouns(counted, asked_units),
                             noun.group(1) if noun else "", asks_amount, named, kinds,
                             self._asks_earlier(normalized, asks_amount, kinds),
                             bool(ASKS_CURRENT.search(normalized)), asks_only_when(normalized), subject,
                             self._word_weights([*words, *subject], expansions))

    @staticmethod
    def query_text(query: QueryAnalysis) -> str:
        """What is embedded of a question: its normalized text and the article terms added for it."""
        return " ".join([query.normalized, *query.expansions])

    def compared(self, query: QueryAnalysis, vector: np.ndarray) -> PinnedQuestion:
        """What a question is compared with pinned questions on (bot.pin_match)."""
        vocabulary = self.index.lexical.vocabulary
        words = {w: query.weights.get(w, 0.0) for w in query.words}
        return PinnedQuestion(vector, bigrams(query.normalized), words,
                              frozenset(w for w in words if WORD + w in vocabulary), query.normalized)

    def pin_table(self, model: PinModel) -> PinTable:
        """An empty table of pins over this index's passages."""
        chunks = self.index.chunks
        return PinTable(model, lambda row: _folded(chunks[row].embedding_text))

    def pinned_questions(self, questions: list[str]) -> list[PinnedQuestion]:
        """The pinned questions as they are compared, embedded in one batch."""
        queries = [self.analyse(q) for q in questions]
        vectors = self.embedder.encode([self.query_text(q) for q in queries])
        return [self.compared(q, v) for q, v in zip(queries, vectors)]

    def _word_weights(self, words: list[str], expansions: dict[str, float]) -> dict[str, float]:
        """Each question word's IDF over the passages (a word no passage has weighs the most); the article terms
        added for it (synonyms: 花了 → 投入; typos; abbreviations) at their share of a word."""
        lexical = self.index.lexical
        weight = {w: float(lexical.idf[c]) if (c := lexical.vocabulary.get(WORD + w)) is not None
                  else lexical.unseen_idf() for w in [*words, *expansions]}
        return {w: weight[w] * expansions.get(w, 1.0) for w in weight}

    def _repairs(self, word: str) -> list[str]:
        """The article terms an unknown word may stand for: a word that sounds the same (input-method typos:
        有客 → 游客), also for a part of it (书防有 → 书房), or the words of an abbreviation (长护险 → 长期护理保险)."""
        if not self.settings.pinyin_typo_fix or not self._homophones:
            return []
        found = list(self._homophones.get(pinyin_key(word), []))
        vocabulary = self.index.lexical.vocabulary
        for size in range(len(word) - 1, 1, -1):
            for start in range(len(word) - size + 1):
                part = word[start:start + size]
                if WORD + part not in vocabulary and self.index.tokenizer.frequency(part) < \
                        self.settings.pinyin_typo_max_frequency:
                    found += [t for t in self._homophones.get(pinyin_key(part), []) if t not in found]
        return found or self._expand_abbreviation(word)

    @functools.cached_property
    def _homophones(self) -> dict[str, list[str]]:
        """Built on the first unknown word, not at load: most questions never need it (nor pypinyin)."""
        return homophone_table([t[len(WORD):] for t in self.index.lexical.vocabulary if t.startswith(WORD)])

    @functools.cached_property
    def _words_by_character(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Corpus words of two or more Chinese characters by their first character, and by every character."""
        first: dict[str, list[str]] = {}
        anywhere: dict[str, list[str]] = {}
        for token in self.index.lexical.vocabulary:
            word = token[len(WORD):]
            if token.startswith(WORD) and len(word) >= 2 and _CHINESE.fullmatch(word):
                first.setdefault(word[0], []).append(word)
                for char in set(word):
                    anywhere.setdefault(char, []).append(word)
        return first, anywhere

    def _expand_abbreviation(self, word: str) -> list[str]:
        """长护险 → 长期护理保险: corpus words in a row, each opening with the abbreviation's next character (the
        last may hold it anywhere: 保险 → 险), where the text joins them (their boundary character pairs occur)."""
        if not 3 <= len(word) <= 4 or not _CHINESE.fullmatch(word):
            return []
        first, anywhere = self._words_by_character
        vocabulary = self.index.lexical.vocabulary
        phrases = [""]
        for i, char in enumerate(word):
            options = anywhere.get(char, []) if i == len(word) - 1 else first.get(char, [])
            phrases = [p + w for p in phrases for w in options
                       if not p or BIGRAM + p[-1] + w[0] in vocabulary][:_MAX_PHRASES]
        return sorted(set(phrases) - {word}, key=lambda phrase: (len(phrase), phrase))[:3]  # ties: the same every run

    def _asked_units(self, text: str) -> tuple[frozenset[str], str]:
        """The units of the amount a question asks for, and the word right after 多少 / 几 that named them
        (个 may come between: 几个人); else the last editor's word of two or more characters in a question
        asking a number names them (the counted thing stands just before 是多少: 东岙村民户均年收入达到多少 →
        收入, not 村民), and stays a topic word."""
        era = era_year().search(text)  # 西元几年 asks a year, counted in no unit
        for amount in _AMOUNT_ASKED.finditer(text):
            if era and era.start() <= amount.start() < era.end():
                continue
            rest = text[amount.end():]
            if amount.group().endswith("百") and rest.startswith(("分比", "分之")):  # 多少百分比: a share
                return self._units_of[PERCENT], ""
            if rest.startswith("个"):  # 几个人: what follows names it; 几个省级以上人才: the editors' word does
                word = self._unit_word.match(rest[1:])
                if word and self._word_goes_on(rest[1:], word.group()):
                    word = None
                heads = [m for m in self._unit_word_anywhere.finditer(rest[1:]) if is_asked_head(rest[1:], m.end())]
                word = word or (heads[0] if heads else None)  # 多少个领军型人才创业项目 counts 项目, not 人才
                if word:
                    return self._units_of[word.group()], word.group()
                noun = self._unlisted_noun(text, amount.end() + 1)
                if noun:
                    return self._endings[noun[-1]], noun
            word = self._unit_word.match(rest)
            if word and not self._word_goes_on(rest, word.group()):
                return self._units_of[word.group()], word.group()
            noun = self._unlisted_noun(text, amount.end())
            if noun:  # 多少工作人员: not listed, read by its last character as the listed words ending in it
                return self._endings[noun[-1]], noun
        if not _QUANTITY_QUESTION.search(text):
            return frozenset(), ""
        words = [m.group() for m in self._unit_word_anywhere.finditer(text) if is_asked_head(text, m.end())]
        return (self._units_of[words[-1]] if words else frozenset()), ""

    def _counted_nouns(self, counted: str, units: frozenset[str]) -> tuple[str, ...]:
        """The nouns of what a question counts: the word it counts (员工); a unit of an editors' group (多少人)
        counts whatever the group's listed nouns name (居民, 市民 … are people too)."""
        if counted in units:
            for group in self._unit_groups:
                if frozenset(group.units) == units:
                    return tuple(w for w in map(fold, group.asked) if len(w) >= 2)
        return (counted,) if counted else ()

    def _unlisted_noun(self, text: str, at: int) -> str:
        """The noun at ``at`` (right after 多少 / 几) when units.yaml does not list it but its last character says
        what it counts (工作人员: 员, as 党员 and 专员), else "". It is the last of the nouns jieba tags in a row
        there, the one the others describe (多少低收入农户: 农户)."""
        if not any(c in self._endings for c in text[at + 1:]):  # no noun there can end in one: no tagging
            return ""
        nouns: list[str] = []
        end = 0
        for word, flag in tagged(text):
            start = text.find(word, end)
            if start < 0:  # the tagger's words are not the text's (nothing is read rather than misread)
                return ""
            end = start + len(word)
            if start < at:
                continue
            if not flag.startswith(_NOUN_FLAG) or start != at + sum(map(len, nouns)):
                break
            nouns.append(word)
        noun = nouns[-1] if nouns else ""
        unlisted = len(noun) >= 2 and noun not in self._units_of and noun[-1] in self._endings
        return noun if unlisted else ""

    @staticmethod
    def _asks_earlier(text: str, asks_amount: bool, kinds: frozenset[str]) -> bool:
        """It asks the value before a change (以前是多少, 整治前有几家): in its last clause, and not for a time
        (多久以前, 什么时间之前 ask a time, not an earlier value)."""
        last = re.split(r"[，,。；;]", text.rstrip("，,。；;？?！! "))[-1]
        return asks_amount and not kinds & {"date", "duration"} and bool(ASKS_EARLIER.search(last))

    def _word_goes_on(self, text: str, unit: str) -> bool:
        """Whether the unit at the start of ``text`` is the start of a longer word (多少国家, 几个校区: 国, 校 are
        no units there) by jieba's dictionary of general Chinese."""
        return len(unit) == 1 < len(text) and self.index.tokenizer.frequency(text[:2]) > 0

    def _weighted_tokens(self, query: QueryAnalysis) -> dict[str, float]:
        tokens: dict[str, float] = {}
        for token in self.index.tokenizer.tokens(query.normalized):
            tokens[token] = tokens.get(token, 0.0) + 1.0
        for term, weight in query.expansions.items():
            for token in self.index.tokenizer.tokens(term):
                tokens.setdefault(token, weight)
        return tokens

    # -- retrieval --------------------------------------------------------------------------------
    def candidates(self, question: str) -> Candidates:
        """Analyse the question, gather candidates from both retrievers and compute their features."""
        clock = time.perf_counter
        timings: dict[str, float] = {}
        started = clock()
        query = self.analyse(question)
        timings["normalize"] = clock() - started

        lexical_pass = _LexicalPass(self, query)
        beside = threading.Thread(target=lexical_pass.run, name="lexical") \
            if self.settings.lexical_beside_encoder else None
        if beside is not None:  # BM25 needs no vector: it runs while the encoder computes
            beside.start()
        started = clock()
        vector = self.embedder.encode_query(self.query_text(query))
        timings["encode"] = clock() - started

        started = clock()
        n_dense = min(self.settings.dense_candidates, self.index.vectors.ntotal)
        nearest, dense_ids = self.index.vectors.search(vector[None, :], n_dense)
        pin = self.pins.match(self.compared(query, vector), self.index.chunk_vectors, float(nearest[0][0])) \
            if self.pins is not None and n_dense else None
        timings["dense"] = clock() - started

        if beside is not None:
            beside.join()
        else:
            lexical_pass.run()
        tokens, lexical, coverage = lexical_pass.result()
        started = clock()
        sentence_index = self.index.sentence_lexical
        ids = np.array(sorted(set(dense_ids[0][dense_ids[0] >= 0].tolist())
                              | set(lexical_pass.top)
                              | ({pin.row} if pin is not None else set())), dtype=np.int64)
        timings["lexical"] = lexical_pass.seconds + clock() - started

        started = clock()
        offsets = self.index.sentence_offsets
        starts, counts = offsets[ids], offsets[ids + 1] - offsets[ids]
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        firsts = np.cumsum(counts) - counts
        sentence_lexical, sentence_coverage = sentence_index.row_scores(tokens, rows)
        sentence_dense = np.maximum(self.index.sentence_vectors.dot(rows, vector), 0)
        chunk_dense = np.maximum(self.index.chunk_vectors[ids] @ vector, 0)
        best = lambda values: np.maximum.reduceat(values, firsts) if len(ids) else values  # noqa: E731
        asks_amount = query.asks_amount
        date_asked = asks_date(query.normalized)
        giving = [self._gives[u] for u in query.asked_units if u in self._gives]
        gives_unit = np.logical_or.reduce([mask[rows] for mask in giving]) if giving else np.zeros(len(rows), bool)
        features = np.column_stack([
            lexical[ids],
            chunk_dense,
            best(sentence_lexical),
            best(sentence_dense),
            coverage[ids],
            best(sentence_coverage),
            self._title_share(query, ids),
            lexical[ids] - (lexical[ids].max() if len(ids) else 0),
            chunk_dense - (chunk_dense.max() if len(ids) else 0),
            asks_amount * best(self._gives_number[rows].astype(np.float32)),
            date_asked * best(self._gives_date[rows].astype(np.float32)),
            best(gives_unit.astype(np.float32)),
        ]).astype(np.float32) if len(ids) else np.zeros((0, len(PASSAGE_FEATURES)), np.float32)
        timings["fuse"] = clock() - started  # features and ranking: the bench's "fuse" part
        return Candidates(query, ids, features, sentence_lexical, sentence_dense, sentence_coverage, counts,
                          chunk_dense, self.index.lexical.unseen_share(tokens), timings, pin)

    @staticmethod
    def _top(scores: np.ndarray, n: int) -> list[int]:
        n = min(n, len(scores))
        if not n:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        return top[scores[top] > 0].tolist()

    def _title_share(self, query: QueryAnalysis, ids: np.ndarray) -> np.ndarray:
        """Share of the question's words (IDF-weighted) that each candidate's title contains."""
        lexical = self.index.lexical
        words = list(dict.fromkeys(query.words))
        weights = np.array([lexical.idf[c] if (c := lexical.vocabulary.get(WORD + w)) is not None
                            else lexical.unseen_idf() for w in words], dtype=np.float32)
        total = float(weights.sum())
        if not total:
            return np.zeros(len(ids), np.float32)
        shares = {}
        for title in {self._titles[i] for i in ids}:
            shares[title] = float(sum(wt for w, wt in zip(words, weights) if w in title)) / total
        return np.array([shares[self._titles[i]] for i in ids], dtype=np.float32)

    def search(self, question: str, top_k: int | None = None) -> SearchResult:
        top_k = top_k or self.settings.search_top_k
        found = self.candidates(question)
        started = time.perf_counter()
        scores = self.model.passage.decision(found.features) if len(found.ids) else np.zeros(0)
        order = np.lexsort((found.ids, -scores))
        if found.pin is not None:  # a reviewed pin answers: its passage first, whatever the ranking says
            pinned = int(np.flatnonzero(found.ids == found.pin.row)[0])
            order = np.concatenate([[pinned], order[order != pinned]])
        firsts = np.cumsum(found.counts) - found.counts
        rows = [slice(firsts[i], firsts[i] + found.counts[i]) for i in order[:top_k]]
        hits = [Hit(self.index.chunks[found.ids[i]], score=float(sigmoid(scores[i])),
                    dense=float(found.chunk_dense[i]), lexical=float(found.features[i, 0]),
                    sentence_scores=found.sentence_lexical[row].tolist(),
                    sentence_dense=found.sentence_dense[row].tolist(),
                    sentence_coverage=found.sentence_coverage[row].tolist())
                for i, row in zip(order[:top_k], rows)]
        coverage = self.word_coverage(found.query, hits[:3])
        answerable = self.answerability(found, scores, order, coverage)
        shown = self.shown(hits) if found.pin is None else hits[:1]
        reason = self._abstain_reason(hits, answerable) if found.pin is None else ""
        found.timings["fuse"] += time.perf_counter() - started
        return SearchResult(found.query, hits, not reason, coverage[0], answerable, reason, shown, found.timings,
                            found.pin)

    @staticmethod
    def answer_features(found: Candidates, scores: np.ndarray, order: np.ndarray,
                        coverage: tuple[float, float]) -> np.ndarray:
        """The question-level features answerability is judged on (ANSWER_FEATURES order)."""
        if not len(order):
            return np.array([-10.0, 0, 0, *coverage], dtype=np.float32)
        top = found.features[order[0]]
        column = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
        return np.array([scores[order[0]], top[column["coverage"]], top[column["sentence_coverage"]], *coverage],
                        dtype=np.float32)

    def answerability(self, found: Candidates, scores: np.ndarray, order: np.ndarray,
                      coverage: tuple[float, float]) -> float:
        """Calibrated probability that the best passages answer the question."""
        features = self.answer_features(found, scores, order, coverage)
        return float(sigmoid(self.model.answerable.decision(features[None, :])[0]))

    def _abstain_reason(self, hits: list[Hit], answerable: float) -> str:
        """Off-topic: the content does not cover the question. (Whether the shown passages give the asked
        figure is decided by the answer step, bot/answer, which reads their figures.)"""
        return "off_topic" if not hits or answerable < self.settings.abstain_min_score else ""

    def shown(self, hits: list[Hit]) -> list[Hit]:
        """The hits a reply shows: the first, and the next ones about as likely to hold the answer."""
        if not hits:
            return []
        floor = self.settings.reply_min_relative_score * hits[0].score
        return [h for i, h in enumerate(hits[:self.settings.reply_passages]) if i == 0 or h.score >= floor]

    def word_coverage(self, query: QueryAnalysis, hits: list[Hit]) -> tuple[float, float]:
        """Share of the question's informative weight (IDF of its words) that the best passages contain, and
        the weight of the rarest word they lack (as a share of the rarest possible).

        A word counts as found if it, one of its expansions, or (for unknown words) most of its character
        bigrams occur in the passages. Unknown words weigh the most, which is what sinks off-topic questions.
        """
        if not query.words or not hits:
            return 0.0, 1.0
        lexical = self.index.lexical
        text = " ".join(_folded(h.chunk.embedding_text) for h in hits)
        expansions = " ".join(query.expansions)
        total = found = missing = 0.0
        for word in dict.fromkeys(query.words):
            col = lexical.vocabulary.get(WORD + word)
            weight = float(lexical.idf[col]) if col is not None else lexical.unseen_idf()
            total += weight
            stem = word.rstrip(_ASPECT_PARTICLE) if col is None else word
            share = 0.0
            if stem and stem in text or (expansions and self._expansion_found(word, query, text)):
                share = 1.0
            elif len(word) >= 3:
                bigrams = [word[i:i + 2] for i in range(len(word) - 1)]
                share = sum(b in text for b in bigrams) / len(bigrams)
            found += weight * share
            if share < 0.5:
                missing = max(missing, weight)
        return (found / total if total else 0.0), missing / lexical.unseen_idf()

    def _expansion_found(self, word: str, query: QueryAnalysis, text: str) -> bool:
        related = [t for group in self._synonyms if word in group for t in group]
        related += query.repairs.get(word, [])
        return any(t in text for t in related if t in query.expansions)
