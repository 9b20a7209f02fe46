"""What the answer step reads of the shown passages: their sentences and figures, and the features the fitted
models (bot/answer/model.py) judge them on.

Everything here is computed from the search result of one question (at most three passages): numpy over a
few dozen sentences and figures, so it costs a fraction of a millisecond. The same code computes the features
at answer time and when the models are fitted (``python -m devtools fit-answer``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..chunking import Chunk
from ..figures import Figure, asked_date_part, read_figures, writes_date_part
from ..normalize import fold_in_place
from ..search import Hit, QueryAnalysis, SearchResult
from ..text import CLAUSE_MARK
from .model import FIGURE_FEATURES, SENTENCE_FEATURES

_RUN = re.compile(r"\w+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# where a question asks: the words on either side of it are what the answer stands between in the text
_QUESTION_WORDS = "什么|哪|谁|多少|几|何|怎么|怎样|如何|是否"
_QUESTION_WORD = re.compile(_QUESTION_WORDS)
# the question word with what belongs to it (哪一年, 什么时候, 多少个): the context is what stands around this
_ASKED_PHRASE = re.compile(rf"(?:{_QUESTION_WORDS})[一个些年月日天号时候种样位里儿处]*")
_PARTICLES = "的了是有为呢吗啊呀个些？?。 "
_NEAR = 10  # characters before / after a figure read as "right before / after it"
_FAR = 60.0  # the distance of a figure with no question word in its sentence
_WINDOW = 12  # characters on either side of a figure read as its surroundings
_MARGIN_CAP = 10.0  # log-odds: a best figure this far ahead of the second (or alone) is as clear as it gets
_CONTEXT = 8  # characters of the question on either side of its question word read as what the answer is between
_IN_QUESTION = FIGURE_FEATURES.index("in_question") - 3  # its column in Reading._figure_base


def passage_sentences(chunk: Chunk) -> list[str]:
    """A passage's sentences, verbatim, as the index holds them (split once, when the passage was made)."""
    return list(chunk.sentences)


@lru_cache(maxsize=8192)
def _matchable(text: str) -> str:
    """``text`` folded at the same positions (Traditional → Simplified, full → half width, lower case)."""
    return fold_in_place(text).lower()


@dataclass(frozen=True)
class Sentence:
    """One sentence of a shown passage, with the search's scores of it and the figures it gives."""

    text: str  # verbatim, as in the passage
    hit: int  # which shown passage (0 first)
    position: int  # its place in the passage
    lexical: float
    dense: float
    coverage: float
    figures: tuple[Figure, ...]

    @property
    def quoted(self) -> str:
        return self.text.strip()


def _sentences(shown: list[Hit]) -> list[Sentence]:
    result = []
    for rank, hit in enumerate(shown):
        texts = passage_sentences(hit.chunk)
        aligned = len(hit.sentence_scores) == len(texts)
        for i, text in enumerate(texts):
            scores = (hit.sentence_scores[i], hit.sentence_dense[i], hit.sentence_coverage[i]) if aligned and \
                len(hit.sentence_dense) == len(texts) else (0.0, 0.0, 0.0)
            result.append(Sentence(text, rank, i, *scores, read_figures(text)))
    return result


def _occurrences(text: str, weights: dict[str, float]) -> list[tuple[int, int, str]]:
    """(start, end, word) of every question word written in ``text``."""
    found = []
    for word in weights:
        at = text.find(word)
        while at >= 0:
            found.append((at, at + len(word), word))
            at = text.find(word, at + 1)
    return found


def _around_question_word(question: str) -> tuple[str, str]:
    """The two characters before the question's question word and the two after it, particles left out
    (蒙泰罗…获得第几名 → 获得, ""; 人口有多少 → 人口, ""): the answer stands between them in the text."""
    asked = _QUESTION_WORD.search(question)
    if asked is None:
        return "", ""
    before = question[:asked.start()].rstrip(_PARTICLES).removesuffix("第")
    after = question[asked.end():].lstrip(_PARTICLES)
    pair = lambda t: t if len(t) == 2 and _RUN.fullmatch(t) else ""  # noqa: E731
    return pair(before[-2:]), pair(after[:2])


def _question_context(question: str) -> tuple[set[str], set[str]]:
    """The character pairs of the few characters before the question's question word and of those after it
    (穆罕默德·真纳于何年加入全印穆斯林联盟 → 真纳, 纳于 …; 加入, 入全 …): the text writes its answer between them."""
    asked = _ASKED_PHRASE.search(question)
    if asked is None:
        return set(), set()
    before = question[:asked.start()].rstrip(_PARTICLES).removesuffix("第")
    after = question[asked.end():].lstrip(_PARTICLES)
    return _pairs(before[-_CONTEXT:]), _pairs(after[:_CONTEXT])


def _proximity(figure: Figure, occ: list[tuple[int, int, str]], weights: dict[str, float], total: float) -> float:
    """The question's words in the figure's sentence, IDF-weighted, each by how close its nearest
    occurrence stands (exp of minus the characters between, over _NEAR)."""
    nearest: dict[str, int] = {}
    for s, e, w in occ:
        d = figure.start - e if e <= figure.start else s - figure.end if s >= figure.end else 0
        nearest[w] = min(d, nearest.get(w, d))
    return sum(weights[w] * math.exp(-d / _NEAR) for w, d in nearest.items()) / total if total else 0.0


def _restated(text: str, question_pairs: set[str]) -> float:
    """The share of ``text``'s character pairs that the question has."""
    pairs = _pairs(text)
    return len(pairs & question_pairs) / len(pairs) if pairs else 0.0


def _softmax_top(scores: np.ndarray) -> float:
    """The largest share of the softmax of ``scores``."""
    e = np.exp(scores - scores.max())
    return float(1.0 / e.sum())


def _pairs(text: str, size: int = 2) -> set[str]:
    """The character pairs (or runs of ``size``) of ``text``'s runs of letters (punctuation breaks them)."""
    return {run[i:i + size] for run in _RUN.findall(text) for i in range(len(run) - size + 1)}


def _pair_share(pairs: set[str], text: str) -> float:
    return sum(p in text for p in pairs) / len(pairs) if pairs else 0.0


def _rarest(words: set[str], weights: dict[str, float]) -> float:
    """The weight of the rarest of ``words`` over that of the question's rarest word."""
    return max((weights[w] for w in words), default=0.0) / max(weights.values()) if weights else 0.0


def _share(words: set[str], weights: dict[str, float], total: float) -> float:
    return sum(weights[w] for w in words) / total if total else 0.0


@dataclass
class Reading:
    """The shown passages of one answered question, read for its answer."""

    query: QueryAnalysis
    sentences: list[Sentence]
    sentence_x: np.ndarray  # sentences × SENTENCE_FEATURES
    figures: list[tuple[int, Figure]]  # (sentence number, figure), in reading order
    _figure_base: np.ndarray  # figures × the FIGURE_FEATURES that do not depend on the sentence model
    answerable: float
    coverage: float
    sections: list[str]  # the section of each shown passage

    def in_first_section(self) -> list[tuple[Figure, str]]:
        """The figures of the passages of the best passage's section (another section's answer other questions),
        each with the few characters after it."""
        return [(f, self.after(n, f)) for n, f in self.figures
                if self.sections[self.sentences[n].hit] == self.sections[0]]

    def states(self, figure: int) -> bool:
        """Whether the numbers of the ``figure``-th figure are all written in the question (its feature
        in_question): 2010年 in 2010年底…有多少电 is what the question asks about, not its answer."""
        return bool(self._figure_base[figure, _IN_QUESTION])

    def after(self, sentence: int, figure: Figure) -> str:
        """The few characters after ``figure`` in its sentence, folded (514个村社: 村社; 3/4的温州市民)."""
        return _matchable(self.sentences[sentence].text)[figure.end:figure.end + _NEAR]

    def figure_x(self, sentence_scores: np.ndarray) -> np.ndarray:
        """Figures × FIGURE_FEATURES, given the sentence model's log-odds of each sentence."""
        if not self.figures:
            return np.zeros((0, len(FIGURE_FEATURES)), np.float32)
        of = np.array([s for s, _ in self.figures])
        scores = sentence_scores[of]
        unasked = scores * float(not (self.query.asks_amount or self.query.asked_kinds))
        return np.column_stack([scores, scores - sentence_scores.max(), unasked, self._figure_base]).astype(np.float32)

    def given_x(self, sentence_scores: np.ndarray, figure_scores: np.ndarray) -> np.ndarray:
        """GIVEN_FEATURES of the question (one row), given the sentence and figure models' log-odds."""
        best, top = int(np.argmax(figure_scores)), int(np.argmax(sentence_scores))
        figure = dict(zip(FIGURE_FEATURES[3:], self._figure_base[best]))
        sentence = dict(zip(SENTENCE_FEATURES, self.sentence_x[self.figures[best][0]]))
        column = {name: self.sentence_x[:, i] for i, name in enumerate(SENTENCE_FEATURES)}
        kinds = bool(self.query.asked_kinds)
        return np.array([[
            figure_scores[best],
            figure["kind"] if kinds else 0.5,
            float(self._figure_base[:, FIGURE_FEATURES.index("kind") - 3].max()) if kinds else 0.5,
            float(sentence_scores.max()),
            figure["clause_words"],
            sentence["words"],
            1.0 - sentence["subject"],
            self.answerable,
            self.coverage,
            math.log1p(len(self.figures)),
            float(column["attribute"].max()),
            float(column["trigrams"].max()),
            float(np.maximum(column["asked_before"], column["asked_after"]).max()),
            figure["window_bigrams"],
            figure["clause_rarest"],
            sentence["passage_lacks"],
            float(self.sentence_x[top, SENTENCE_FEATURES.index("gives_kind" if kinds else "has_figure")]),
            float(self.figures[best][0] == top),
            _softmax_top(figure_scores),
            min(_MARGIN_CAP, float(figure_scores[best] - np.partition(figure_scores, -2)[-2]))
            if len(figure_scores) > 1 else _MARGIN_CAP,
            _softmax_top(sentence_scores),
            math.log1p(int((sentence_scores > sentence_scores[self.figures[best][0]]).sum())),
        ]], dtype=np.float32)


def read(result: SearchResult) -> Reading:
    """The sentences and figures of ``result``'s shown passages, and their features."""
    query = result.query
    weights = {w: wt for w, wt in query.weights.items() if w}
    total = sum(weights.values())
    subject = {w: weights[w] for w in query.subject if w in weights}
    subject_total = sum(subject.values())
    question_chars = set(query.normalized) - set(" ？?。，,！!")
    question_pairs = _pairs(query.normalized)
    question_triples = _pairs(query.normalized, 3)
    question_numbers = set(_NUMBER.findall(query.normalized))
    around = _around_question_word(query.normalized)
    sentences = _sentences(result.shown)
    titles = [_matchable(hit.chunk.title) for hit in result.shown]
    attribute = [{w: wt for w, wt in weights.items() if w not in title} for title in titles]
    attribute_pairs = [{p for p in question_pairs if p not in title} for title in titles]
    folded = [_matchable(s.text) for s in sentences]
    found = [_occurrences(text, weights) for text in folded]
    words_share = [_share({w for _, _, w in occ}, weights, total) for occ in found]
    top_score = result.shown[0].score if result.shown else 1.0
    in_passage = [{w for w in weights if w in _matchable(hit.chunk.title + hit.chunk.text)} for hit in result.shown]
    anywhere = set().union(*in_passage)
    lacks = [_rarest(anywhere - words, weights) for words in in_passage]
    kinds, units = query.asked_kinds, query.asked_units
    context = _question_context(query.normalized)
    figures = [(n, f) for n, s in enumerate(sentences) for f in s.figures]
    of_asked_kind = sum(f.kind in kinds for _, f in figures)
    rarity = math.log(len(figures) / of_asked_kind) if of_asked_kind else 0.0
    date_part = asked_date_part(query.normalized)
    of_kind = [[f for f in s.figures if f.kind in kinds] for s in sentences]
    base = [_figure_row(f, s.figures, folded[n], found[n], weights, total, subject, subject_total, query,
                        around, question_pairs, context, rarity, date_part, of_kind[n])
            for n, f in figures for s in (sentences[n],)]
    figure_base = np.array(base, dtype=np.float32).reshape(len(base), len(FIGURE_FEATURES) - 3)
    rows = []
    for n, (sentence, text, occ) in enumerate(zip(sentences, folded, found)):
        neighbours = [words_share[m] for m in (n - 1, n + 1)
                      if 0 <= m < len(sentences) and sentences[m].hit == sentence.hit]
        figure_kinds = {f.kind for f in sentence.figures}
        rows.append([
            sentence.hit,
            result.shown[sentence.hit].score / top_score if top_score else 0.0,
            lacks[sentence.hit],
            sentence.lexical, 0.0, sentence.dense, 0.0, sentence.coverage,
            words_share[n], 0.0,
            len(question_chars & set(text)) / len(question_chars) if question_chars else 0.0,
            _pair_share(question_pairs, text),
            _pair_share(question_triples, text),
            len(question_numbers & set(_NUMBER.findall(text))) / len(question_numbers) if question_numbers else 0.0,
            _share({w for _, _, w in occ if w in attribute[sentence.hit]}, attribute[sentence.hit],
                   sum(attribute[sentence.hit].values())),
            _pair_share(attribute_pairs[sentence.hit], text),
            0.0,
            float(bool(around[0]) and around[0] in text),
            float(bool(around[1]) and around[1] in text),
            _share({w for _, _, w in occ if w in subject}, subject, subject_total),
            float(bool(kinds & figure_kinds)),
            float(bool(units & {f.unit for f in sentence.figures})),
            float(query.asks_amount and bool(sentence.figures)),
            float(bool(sentence.figures)),
            sentence.position,
            max(neighbours, default=0.0),
            math.log1p(len(sentence.quoted)),
            _restated(text, question_pairs),
            math.log1p(len(set(_CJK.findall(text)) - question_chars)),
        ])
    x = np.array(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))
    if len(rows):
        for gap, value in (("lexical_gap", "lexical"), ("dense_gap", "dense"), ("words_gap", "words"),
                           ("attribute_gap", "attribute")):
            g, v = SENTENCE_FEATURES.index(gap), SENTENCE_FEATURES.index(value)
            x[:, g] = x[:, v] - x[:, v].max()
    return Reading(query, sentences, x, figures, figure_base, result.answerable, result.coverage,
                   [hit.chunk.section for hit in result.shown])


def _figure_row(figure: Figure, of_sentence: tuple[Figure, ...], text: str, occ: list[tuple[int, int, str]],
                weights: dict[str, float], total: float, subject: dict[str, float], subject_total: float,
                query: QueryAnalysis, around: tuple[str, str], pairs: set[str],
                context: tuple[set[str], set[str]], rarity: float, date_part: str,
                of_kind: list[Figure]) -> list[float]:
    """FIGURE_FEATURES of one figure but the three sentence columns; ``rarity``: log(shown figures / those of an
    asked kind), ``of_kind``: its sentence's figures of an asked kind."""
    order = of_sentence.index(figure)
    clause_start = max((m.end() for m in CLAUSE_MARK.finditer(text, 0, figure.start)), default=0)
    clause_end = next((m.start() for m in CLAUSE_MARK.finditer(text, figure.end)), len(text))
    in_clause = {w for s, e, w in occ if s >= clause_start and e <= clause_end}
    before = {w for s, e, w in occ if clause_start <= s and figure.start - _NEAR <= e <= figure.start}
    after = {w for s, e, w in occ if figure.end <= s <= figure.end + _NEAR and e <= clause_end}
    numbers = set(_NUMBER.findall(text[figure.start:figure.end]))
    distances = [figure.start - e if e <= figure.start else s - figure.end if s >= figure.end else 0
                 for s, e, _ in occ]
    earlier, current = query.asks_earlier, query.asks_current and not query.asks_earlier
    return [
        float(figure.kind in query.asked_kinds),
        float(bool(figure.unit) and figure.unit in query.asked_units),
        float(figure.kind == "number"),
        float(figure.kind == "date" and "date" not in query.asked_kinds),
        _share(in_clause, weights, total),
        _share(before, weights, total),
        _share(after, weights, total),
        _rarest(in_clause, weights),
        _rarest(before, weights),
        _rarest(after, weights),
        _pair_share(pairs, text[clause_start:clause_end]),
        _pair_share(pairs, text[max(0, figure.start - _WINDOW):figure.end + _WINDOW]),
        float(bool(around[0]) and around[0] in text[max(0, figure.start - _NEAR):figure.start]),
        float(bool(around[1]) and around[1] in text[figure.end:figure.end + _NEAR]),
        _share(in_clause & set(subject), subject, subject_total),
        math.log1p(min(distances, default=_FAR)),
        float(earlier and figure.role == "earlier" or current and figure.role == "current"),
        float(earlier and figure.role == "current" or current and figure.role == "earlier"),
        float(figure.role == "earlier"),
        float(bool(figure.qualifier)),
        float(bool(numbers) and numbers <= set(_NUMBER.findall(query.normalized))),
        float(order),
        _pair_share(context[0], text[max(0, figure.start - _WINDOW):figure.start]),
        _pair_share(context[1], text[figure.end:figure.end + _WINDOW]),
        _proximity(figure, occ, weights, total),
        float(writes_date_part(figure, date_part)),
        float(bool(of_kind) and of_kind[0] is figure),
        float(of_kind == [figure]),
        rarity if figure.kind in query.asked_kinds else 0.0,
    ]
