"""The answer step's decisions for one question: the sentence quoted first, the figure in bold, and whether the
shown passages give the asked figure at all. Each is a fitted model's choice (bot/answer.json).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from ..figures import HOW_MUCH, Figure, asked_date_part, kind_of_unit, writes_date_part
from ..search import QueryAnalysis
from .model import AnswerModel
from .reading import Reading, Sentence


@dataclass(frozen=True)
class Choice:
    sentence: Sentence | None  # the sentence quoted first (None when nothing is shown)
    figure: Figure | None  # the figure set in bold: only for a question asking a figure that is given
    figures: list[Figure] = field(default_factory=list)  # every shown figure, the likeliest answer first
    given: bool = True  # False: the question asks a figure the shown passages do not give
    asks_figure: bool = False


def asks_figure(reading: Reading) -> bool:
    """The question asks for a figure: an amount, a share, a date, a rank (多少, 几, 比例, 哪一年, 第几)."""
    return reading.query.asks_amount or bool(reading.query.asked_kinds)


# kinds of amount written with their unit (money, a share, an area, a volume): asked for by name (利率是多少,
# 投资多少钱), a figure of another kind cannot answer. Counts, people, dates and durations are also written bare
# or in words (6000多低收入农户, 同年), and lengths, weights and speeds in units of their own (182CM, 60节, 太阳质量),
# so those are left to the fitted model.
_MEASURED = frozenset({"money", "share", "area", "volume"})
_ASKS_HOW_MUCH = re.compile(f"多少|几|{HOW_MUCH}[大长高远重深宽厚快]")


def not_given_by_definition(reading: Reading) -> bool:
    """The figures of the best passage's section cannot be the answer whatever the model says: asked what it
    was before a change (以前是多少) where no change is shown; asked an amount of a kind only written with its
    unit (利率是多少: a share) where none of that kind is there; or the question names what it counts (多少钱,
    几家) and no figure there is in those units, nor a bare number or a figure right before the thing counted
    (its unit is the noun after it: 514个村社, 3/4的市民); or it asks which year (哪一年) and no figure there may
    be one (a section giving only 19日 or 3月20日)."""
    query, figures = reading.query, reading.in_first_section()
    no_earlier = query.asks_earlier and not any(f.role == "earlier" for f, _ in figures)
    kinds = query.asked_kinds & _MEASURED if _ASKS_HOW_MUCH.search(query.normalized) else frozenset()
    no_kind = bool(kinds) and not any(_of_kind(f, kinds, query) or f.kind == "ratio" and "share" in kinds
                                      for f, _ in figures)
    no_year = asked_date_part(query.normalized) == "年" and not any(_may_be_year(f) for f, _ in figures)
    return no_earlier or no_kind or no_year or bool(query.named_units) and not any(_may_count(f, after, query)
                                                                                   for f, after in figures)


def _of_kind(figure: Figure, kinds: AbstractSet[str], query: QueryAnalysis) -> bool:
    """Whether ``figure`` is of an asked kind: a unit of one of the editors' other groups (knowledge/units.yaml)
    says it is another kind of amount, whatever the reader's kinds say (1400多万人次 is no number of staff)."""
    return figure.kind in kinds and figure.unit not in query.other_units


def _may_be_year(figure: Figure) -> bool:
    """Whether ``figure`` may be the year asked for (哪一年): a date writing one, a figure in 年 (至元十三年, an
    era's year, reads as a duration), or a bare number (1932)."""
    return writes_date_part(figure, "年") or "年" in figure.text or figure.kind == "number"


def _may_be_date(figure: Figure) -> bool:
    """Whether ``figure`` may say when (什么时候, 何时): a date or a part of one, a figure in 年 (1994年, 至元十三年),
    in 世纪 or 年代 (14世纪, 六十年代), or a bare number (1932); not 3届 nor 超过1.2亿元."""
    return figure.kind in ("date", "number") or "年" in figure.text or figure.unit in ("世纪", "年代", "代")


def _may_count(figure: Figure, after: str, query: QueryAnalysis) -> bool:
    """Whether ``figure`` may be the amount of what the question counts: in a named unit, or of the same kind
    (2cm for 多少厘米, 7000名 for 多少人), or a count where 个 names no noun and so counts anything (3名 for 几个), or a
    bare number or a figure right before the thing counted (its unit is the noun after it: 514个村社, 3/4的市民,
    五个省 for 几个省; 超110家 is no number of 座位). A unit of another editors' group is another kind (1400多万人次
    for 多少人); asked by the unit (多少人), the thing counted is any noun of its group (3/4的温州市民)."""
    named = query.named_units
    kinds = {kind_of_unit(u) for u in named} - {"count"}
    nouns = [n for n in (query.noun, *query.counted_nouns) if len(n) >= 2]
    anything = "个" in named and not query.noun  # 几个 with no noun after it counts anything (几个 → 3名)
    counted_next = len(query.counted) == 1 and after[:1] == query.counted  # 几个省 ← 五个省: the noun right after
    return (figure.unit in named or figure.kind == "number" or _of_kind(figure, kinds, query) or counted_next
            or anything and figure.kind in ("count", "people") or any(n in after[:6] for n in nouns))


def _may_be_asked(numbered: tuple[int, Figure], reading: Reading) -> bool:
    """Whether a figure may be the amount of the editors' group asked: where the question names what it counts
    (多少人), one that may count it (3/4的温州市民, not 超110家 nor 1400多万人次); else one not in another group's unit
    (户均年收入是多少: 20万元, not 102家). Only where a group is asked: on content without units.yaml (CMRC, DRCD)
    keeping the figure model's choice to such figures cost one bold figure and two quoted sentences of 484."""
    n, figure = numbered
    query = reading.query
    if not query.named_units:
        return figure.unit not in query.other_units
    return _may_count(figure, reading.after(n, figure), query)


def _fits_asked_kind(query: QueryAnalysis) -> Callable[[Figure], bool] | None:
    """What a bold figure must be where the question asks one kind of figure only: one that may say when, asked
    only when; one of the asked kind, asked only an amount written with its unit (money, a share, an area, a
    volume); None where any figure may be the answer."""
    if query.asks_when:
        return _may_be_date
    measured = query.asked_kinds & _MEASURED if _ASKS_HOW_MUCH.search(query.normalized) else frozenset()
    if measured and query.asked_kinds <= measured:
        return lambda f: _of_kind(f, measured, query) or f.kind == "ratio" and "share" in measured
    return None


def _bold(reading: Reading, order: np.ndarray, best_sentence: int) -> int | None:
    """The figure to set in bold, by the figure model's order: the best of the quoted sentence, else the best
    shown. A question asking what it was before a change (以前是多少) gets a change's earlier value, one asking the
    value now or after it (现在是多少, 提高到多少) the current value of a change in the sentence, where there is one:
    that is what the words mean, whatever the scores. A figure the question states (24小时 in 在24小时城市书房借
    一本书要多久) is never bold, nor one of another kind than the only one asked (``_fits_asked_kind``). Where the
    quoted sentence's figures are all such, none is (None: the sentence is still quoted: 连续举办了3届 answers no
    什么时候举办), unless asked an amount and its figures merely restate the question's: then the best other
    figure shown, whose sentence is quoted instead (…24小时开放 → 30秒即可完成自助借书)."""
    query, figures = reading.query, reading.figures
    kinds = query.asked_kinds
    fits = _fits_asked_kind(query)
    may_answer = [i for i in order if (fits is None or fits(figures[i][1])) and not reading.states(i)]
    in_quote = [i for i in order if figures[i][0] == best_sentence]
    if not may_answer or in_quote and not any(figures[i][0] == best_sentence for i in may_answer) and not (
            query.asks_amount and all(reading.states(i) for i in in_quote)):
        return None
    order = np.array(may_answer, dtype=np.int64)
    of_role = lambda i, role: figures[i][1].role == role and (not kinds or _of_kind(figures[i][1], kinds, query))  # noqa: E731
    if query.other_units:  # the editors' groups say what the asked amount is written in (knowledge/units.yaml)
        order = np.array([i for i in order if _may_be_asked(figures[i], reading)] or order)
    if query.asks_earlier:
        earlier = [i for i in order if of_role(i, "earlier")]
        order = np.array(earlier) if earlier else order
    in_best = [int(i) for i in order if figures[i][0] == best_sentence]
    if query.asks_current and not query.asks_earlier:
        in_best = [i for i in in_best if of_role(i, "current")] or in_best
    return in_best[0] if in_best else int(order[0])


def choose(reading: Reading, model: AnswerModel, decide_given: bool = True, pinned: int | None = None) -> Choice:
    """The quoted sentence, the bold figure and the not-given decision, by the fitted models. The quoted
    sentence is the sentence model's best; for a question asking a figure, the bold figure is the figure
    model's best of that sentence, or where it gives none, the best figure shown, and then its sentence is
    quoted: the bold figure is always in the quote. ``pinned``: the sentence a reviewed pin quotes (the
    first shown passage's n-th); only its figures may be bold."""
    if not reading.sentences:
        return Choice(None, None)
    sentence_scores = model.sentence.decision(reading.sentence_x)
    best_sentence = int(np.argmax(sentence_scores)) if pinned is None else min(pinned, len(reading.sentences) - 1)
    wanted = asks_figure(reading)
    if not reading.figures:
        return Choice(reading.sentences[best_sentence], None, [], not (wanted and decide_given), wanted)
    figure_scores = model.figure.decision(reading.figure_x(sentence_scores))
    order = np.argsort(-figure_scores, kind="stable")
    ranked = list(dict.fromkeys(reading.figures[i][1] for i in order))
    if pinned is not None:
        order = np.array([i for i in order if reading.figures[i][0] == best_sentence], dtype=np.int64)
    if not wanted or not len(order):
        return Choice(reading.sentences[best_sentence], None, ranked, True, wanted)
    given = not decide_given or not not_given_by_definition(reading) and float(
        model.given.decision(reading.given_x(sentence_scores, figure_scores))[0]) >= 0
    best = _bold(reading, order, best_sentence)
    if best is None:
        return Choice(reading.sentences[best_sentence], None, ranked, given, True)
    sentence_of_figure = reading.sentences[reading.figures[best][0]]
    figure = reading.figures[best][1]
    ranked = [figure] + [f for f in ranked if f != figure]
    return Choice(sentence_of_figure, figure if given else None, ranked, given, True)
