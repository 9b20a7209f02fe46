"""Figures quoted verbatim from passages: amounts with units, percentages, ratios, rankings, formulas.

Citizens ask for "the number"; the reply lists these first, exactly as the article writes them (with
qualifiers such as 超/近/多/余/以上), so a figure can be quoted without re-reading the passage.
"""

from __future__ import annotations

import functools
import re

from .normalize import fold_in_place

_NUMBER = r"\d+(?:\.\d+)?"
_QUALIFIER = r"(?:超过|超|近|约|逾)?"
_MAGNITUDE = r"[十百千万亿]*"
# the units amounts are written in, longest first where one is the end of another (人次 before 人)
UNITS = tuple(
    "人次|平方米|公里|小时|元|人|名|家|个|册|户|位|届|秒|倍|年|项|村|县|期|亩|米|天|次|所|座|条|件|套|张|台|批|类|岁|分钟|月|日"
    .split("|")
)
PERCENT = "%"
DATE_UNITS = ("年", "月", "日")
_UNITS = "|".join(UNITS)
_FIGURE = re.compile(
    "|".join(
        [
            rf"第{_NUMBER}(?:[、,，和及与至到]第?{_NUMBER})*(?:位|名)",  # rankings: 第1、第3和第5位
            rf"{_NUMBER}(?:\+{_NUMBER})+",  # formulas such as 1+1+1
            rf"{_QUALIFIER}{_NUMBER}/{_NUMBER}",  # fractions: 3/4, 近1/2
            rf"{_QUALIFIER}{_NUMBER}%(?:以上|以下|左右)?",  # percentages
            rf"{_QUALIFIER}{_NUMBER}(?:多|余)?{_MAGNITUDE}(?:多|余)?(?:{_UNITS})?(?:以上|以下|左右)?",
        ]
    )
)


_UNIT_AT_END = re.compile(rf"({PERCENT}|{_UNITS})(?:以上|以下|左右)?$")


def _unit(figure: str) -> str | None:
    """What an amount is counted in: its unit, % for a share (80%, 3/4), "" for a bare number whose unit
    the text leaves to the noun after it (6000多低收入农户); None for rankings and formulas (第1位, 1+1+1)."""
    figure = fold_in_place(figure)
    if figure.startswith("第") or "+" in figure:
        return None
    if "/" in figure:
        return PERCENT
    unit = _UNIT_AT_END.search(figure)
    return unit.group(1) if unit else ""


def figure_units(text: str) -> set[str]:
    """The units the amounts in ``text`` are given in (元 for 1.3亿元, 人次 for 1400多万人次, % for 80% and
    3/4), so the search can prefer the sentence that gives the kind of amount a question asks for."""
    return {unit for unit in map(_unit, extract_figures(text)) if unit}


def may_give(text: str, units: frozenset[str]) -> bool:
    """Whether ``text`` has a figure that could be an amount in ``units``: one in those units (in digits or
    in Chinese numerals: 四千名), or a bare number (its unit is the noun after it, which this does not read)."""
    if any(unit == "" or unit in units for unit in map(_unit, extract_figures(text))):
        return True
    return any(m.group(1) in units for m in _CHINESE_AMOUNT.finditer(fold_in_place(text)))


# amounts written in Chinese numerals (四千名, 五年, 十亿年前, 正德十三年): not listed as figures, but an amount
_CHINESE_AMOUNT = re.compile(rf"[零一二两三四五六七八九十百千万亿]+(?:多|余)?({_UNITS}|世纪|代)")


def gives_amount(text: str) -> bool:
    """Whether ``text`` gives any amount, in digits or in Chinese numerals."""
    return bool(extract_figures(text)) or _CHINESE_AMOUNT.search(fold_in_place(text)) is not None


def extract_figures(text: str) -> list[str]:
    """Every figure in ``text``, verbatim, in order of appearance, without repeats."""
    return list(_figures(text))


@functools.lru_cache(maxsize=4096)  # the same passages come back answer after answer: read each once
def _figures(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text[start:end] for start, end in figure_spans(text)))


def figure_spans(text: str) -> list[tuple[int, int]]:
    """Where the figures are (read in the folded text, so 3個 and ３个 are figures like 3个), so chunking never
    cuts through one and a reply quotes them as written."""
    return [m.span() for m in _FIGURE.finditer(fold_in_place(text))]


# a change written as 从65%提高到80% / 由16家发展到102家: the figure after the change word is the current one,
# the one before it the earlier one
_CHANGE_WORD = r"(?:提高|提升|增加|增长|上升|扩大|发展|降低|下降|减少|缩小|压缩|达|增|升|降|减)?(?:到|至)|达到|增至"
_BEFORE_CHANGE = re.compile(rf"^[^，,。；;]{{0,6}}?(?:{_CHANGE_WORD})")
_AFTER_CHANGE = re.compile(rf"(?:{_CHANGE_WORD})$")
# a question asking for the value before a change (以前是多少): the earlier figure is the one it wants
ASKS_EARLIER = re.compile(r"以前|之前|原来|原先|此前|过去|当初|起初|[改整]\w{0,2}前")


def ranked_figures(sentence: str, asked_units: frozenset[str] = frozenset(), earlier: bool = False) -> list[str]:
    """The figures of one sentence, the one a question most likely wants first: in the asked unit, then the
    current value of a change over the earlier one (80% before 65% in 从65%提高到80%; the other way round when
    the question asks what it was ``earlier``), then in order."""
    ranked: list[tuple[bool, int, int, str]] = []
    seen: set[str] = set()
    for order, match in enumerate(_FIGURE.finditer(fold_in_place(sentence))):
        figure = sentence[match.start():match.end()]  # read folded (3個), quoted as written
        if figure in seen:
            continue
        seen.add(figure)
        before, after = sentence[max(0, match.start() - 4):match.start()], sentence[match.end():]
        when = 0 if _AFTER_CHANGE.search(before) else 2 if _BEFORE_CHANGE.match(after) else 1
        when = 2 - when if earlier else when
        in_asked_unit = _unit(figure) in asked_units if asked_units else True
        ranked.append((not in_asked_unit, when, order, figure))
    return [item[3] for item in sorted(ranked)]
