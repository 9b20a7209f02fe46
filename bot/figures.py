"""Figures read out of text as written: amounts with their qualifier and unit, shares, dates, ranks, formulas.

One typed model of a figure (``Figure``) from passage to reply: its text exactly as the article writes it
(不超过1500元 keeps 不超过, 120多万册 keeps 多), where it stands, its value, unit and kind (money, people, share,
date, rank, length, area, volume, weight …), its qualifier, and its role in a change (从65%提高到80%: 65% the
earlier value, 80% the current one). Units, qualifiers and change words are data (``bot/figures.yaml``);
Chinese numerals (三十三话, 两千多名) are read with cn2an. Text is read folded in place (3個 and ３个 are
figures like 3个) and quoted as written.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from .normalize import fold_in_place

PERCENT = "%"


@dataclass(frozen=True)
class _Vocabulary:
    """bot/figures.yaml, read once."""

    kind_of_unit: dict[str, str]  # unit → its kind
    before: tuple[str, ...]  # qualifiers written before the number (不超过, 近)
    after: tuple[str, ...]  # after the unit (以上, 左右)
    within: tuple[str, ...]  # between number and unit (多, 余)
    digits_only: frozenset[str]  # units that make a word after a Chinese numeral (十分, 四方)
    change: tuple[str, ...]  # words before a change's current value (提高到)
    asked: dict[str, str]  # a question's word → the kind of figure it asks for (多远 → length)
    eras: tuple[str, ...]  # what a year may be counted from (民国, 公元前)
    date_parts: dict[str, str]  # a question's word → the part of a date it asks for (哪一年 → 年)


@functools.cache
def vocabulary() -> _Vocabulary:
    data: dict[str, Any] = yaml.safe_load(resources.files(__package__).joinpath("figures.yaml")
                                          .read_text(encoding="utf-8"))
    kind_of_unit = {str(unit): kind for kind, units in data["units"].items() for unit in units}
    qualifiers = data["qualifiers"]
    return _Vocabulary(kind_of_unit, tuple(qualifiers["before"]), tuple(qualifiers["after"]),
                       tuple(qualifiers["within"]), frozenset(data["digits_only"]), tuple(data["change"]),
                       {str(word): kind for kind, asked in data["asked"].items() for word in asked},
                       tuple(data["eras"]),
                       {str(word): part for part, asked in data["date_parts"].items() for word in asked})


def kind_of_unit(unit: str) -> str:
    """The kind of figure counted in ``unit`` (元 → money, % → share); "number" for an unknown one."""
    return "share" if unit == PERCENT else vocabulary().kind_of_unit.get(unit, "number")


@functools.cache
def _asked_words() -> re.Pattern[str]:
    """Every asked word at every place, overlapping ones too (有多少人口: 多少人 and 人口)."""
    return re.compile(f"(?=({_alternation(list(vocabulary().asked))}))")


@functools.cache
def era_year() -> re.Pattern[str]:
    """A year asked in an era's count (西元几年, 民国几年): a date, not how many years."""
    return re.compile(f"(?:{_alternation(vocabulary().eras)})几年")


def asked_kinds(question: str, units: frozenset[str] = frozenset()) -> frozenset[str]:
    """The kinds of figure a (folded) question asks for: those of the units it asks in, and those its words
    ask for (多远 → length, 哪一年 → date, 第几 → rank) where such a word is what is asked, not a word that
    only says whose (城乡收入倍差是多少 asks a 倍差, not an income)."""
    words = vocabulary().asked
    era = era_year().search(question)
    found = (m.group(1) for m in _asked_words().finditer(question)
             if not (m.group(1).startswith("多") and m.start() and question[m.start() - 1] in _ENDS_MUCH)
             and not (era and era.start() < m.start() < era.end())  # 西元几年: its 几年 asks no duration
             and (_asks_itself(m.group(1)) or is_asked_head(question, m.end(1))))
    return frozenset({kind_of_unit(u) for u in units} | {words[w] for w in found} | ({"date"} if era else set()))


def asked_date_part(question: str) -> str:
    """The part of a date a (folded) question asks for: 年 (哪一年), 月 (几月), 日 (哪一天); "" for none."""
    if era_year().search(question):
        return "年"
    return next((part for word, part in vocabulary().date_parts.items() if word in question), "")


def writes_date_part(figure: Figure, part: str) -> bool:
    """Whether ``figure`` is a date that writes ``part`` (1978年 the year, 2月 the month, 5月1号 the day)."""
    return figure.kind == "date" and bool(part) and any(c in figure.text for c in _DATE_PART_WRITTEN.get(part, part))


def _asks_itself(word: str) -> bool:
    """A word that holds its own question word (哪一年, 多少钱, 几岁) asks whatever follows it (哪一年出生)."""
    stop = _QUESTION_OR_END.search(word)
    return stop is not None and stop.start() < len(word)


# what may stand between the word naming the asked thing and the question word: 收入达到多少, 利率大概是多少
_FILLER = frozenset("是有为达到约大概一共总共共计分别都还的了能可以要需将会已经目前现在究竟到底一般平均通常每年")
_QUESTION_OR_END = re.compile(r"多少|几|什么|哪|何|怎么|如何|是否|[，,。；;？?！!\s]|$")


def is_asked_head(question: str, end: int) -> bool:
    """Whether the word of ``question`` ending at ``end`` is what is asked: only filler words stand between it
    and the question word or the end of its clause (年收入达到多少: 收入), not another word it modifies
    (城乡收入倍差是多少: 收入 says whose 倍差; 人口密度是多少: not a number of people)."""
    rest = question[end:]
    stop = _QUESTION_OR_END.search(rest)
    return all(c in _FILLER for c in rest[:stop.start() if stop else len(rest)])


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


# every unit the reader knows (knowledge/units.yaml may only name these), longest first
UNITS: tuple[str, ...] = tuple(sorted(vocabulary().kind_of_unit, key=len, reverse=True))
DATE_UNITS = ("年", "月", "日")

_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_DIGIT = "零〇一二两三四五六七八九"
_CN_NUMERAL = rf"[{_CN_DIGIT}十百千万亿]+"
_MAGNITUDE = "[十百千万亿]"
_CALENDAR = {"月": 12, "日": 31, "号": 31}  # the largest month and day a date can name
_DATE_PART_WRITTEN = {"日": "日号號"}  # a day is written 日 or 号 (號 unfolded): figures keep their text as written
_AS_DURATION = "来|间|之久|以来|多|左右|历史"  # 300年来, 50年间: a number of years, not a year
_SEVERAL = "数几上成"  # 数百万, 几百万, 上亿, 成千上万: a magnitude of several, no amount


@functools.cache
def _pattern() -> re.Pattern[str]:
    words = vocabulary()
    unit = rf"(?:{_alternation(list(words.kind_of_unit))})(?![a-zA-Z])"
    before = rf"(?:{_alternation(words.before)})?"
    after = rf"(?:{_alternation(words.after)})?"
    within = rf"(?:{_alternation(words.within)})?"
    number = rf"(?:{_DIGITS})"
    any_number = rf"(?:{_DIGITS}|{_CN_NUMERAL})"
    parts = [
        # ranks: 第3位, 第1、第3和第5位, 第二十二届
        rf"(?P<rank>第{any_number}(?:[、,，和及与至到]第?{any_number})*(?:{unit})?)",
        # dates: 2021年5月1日, 公元前221年, 1990年代, 5月1日, 二〇二一年
        rf"(?P<date>(?:(?:{_alternation(words.eras)})\d{{1,4}}|\d{{3,4}}(?![-~～至到]\d)|[{_CN_DIGIT}]{{4}})年"
        rf"(?:代|\d{{1,2}}月(?:\d{{1,2}}[日号])?)?(?!{_AS_DURATION})"
        rf"|\d{{1,4}}年\d{{1,2}}月(?:\d{{1,2}}[日号])?"
        rf"|\d{{1,2}}月\d{{1,2}}[日号]|\d{{1,2}}世纪)",
        rf"(?P<formula>{number}(?:\+{number})+)",  # 1+1+1
        rf"(?P<ratio>{number}[:：比]{number})",  # 3:2
        # shares written as fractions: 3/4, 近1/2, 三分之一, 百分之八十
        rf"(?P<fraction>{before}(?:{number}/{number}|{any_number}分之{any_number}){after})",
        # amounts: 超110家, 120多万册, 1.2万个, 不超过1500元, 80%以上, 3至5年, 两千多名
        rf"(?P<amount>{before}(?:{number}(?:[-~～至到]{number})?{within}{_MAGNITUDE}*{within}(?: ?{unit})?"
        rf"|{_CN_NUMERAL}(?:[多余几]{_MAGNITUDE}*)?(?:{unit})?){after})",
    ]
    return re.compile("|".join(parts))


@dataclass(frozen=True)
class Figure:
    """One figure of a text, as written."""

    text: str  # verbatim, qualifier and unit included
    start: int  # where it stands in the text it was read from
    end: int
    kind: str  # money, people, share, date, rank, duration, length, area, volume, weight, count, number, formula …
    unit: str  # what it is counted in ("%" for shares, "" for a bare number)
    qualifier: str  # 不超过, 近, 多, 以上 … ("" for none)
    value: float | None  # the number (None where it has none: a list of ranks, a formula)
    role: str = ""  # in a change (从65%提高到80%): "earlier" or "current"; "" otherwise


def _value(number: str) -> float | None:
    """The value of digits with their magnitude (1.2万 → 12000) or of a Chinese numeral (两千 → 2000)."""
    number = number.replace(",", "")
    try:
        if number and number[0].isdigit():
            digits = re.match(r"[\d.]+", number)
            value = float(digits.group()) if digits else 0.0
            for magnitude in number[digits.end() if digits else 0:]:
                value *= {"十": 10, "百": 100, "千": 1000, "万": 1e4, "亿": 1e8}.get(magnitude, 1)
            return value
        if not number:
            return None
        import cn2an  # ~0.1 s to import: only texts with a Chinese numeral pay it

        return float(cn2an.cn2an(number, "smart"))
    except Exception:  # noqa: BLE001 - cn2an raises plain errors of several kinds on what is no numeral
        return None


def _read(match: re.Match[str], text: str, folded: str) -> Figure | None:
    words = vocabulary()
    group = match.lastgroup or "amount"
    start, end = match.span()
    written = text[start:end]
    body = folded[start:end]
    qualifier_before = next((q for q in words.before if body.startswith(q)), "")
    qualifier_after = next((q for q in words.after if body.endswith(q)), "")
    core = body[len(qualifier_before):len(body) - len(qualifier_after)]
    core = core.replace(" ", "")
    unit = next((u for u in UNITS if core.endswith(u) and not (u.isascii() and u.isalpha()
                                                                and core[:-len(u)][-1:].isalpha())), "")
    number = core[:len(core) - len(unit)]
    within = next((q for q in words.within if q in number), "")
    qualifier = qualifier_before or within or qualifier_after
    if group == "rank":
        first = re.search(r"\d+", number)
        return Figure(written, start, end, "rank", "", qualifier, float(first.group()) if first else _value(number[1:]))
    if group == "date":
        return Figure(written, start, end, "date", "年", "", _value(re.sub(r"\D", "", number.split("年")[0])))
    if group == "formula":
        return Figure(written, start, end, "formula", "", "", None)
    if group == "ratio":
        return Figure(written, start, end, "ratio", "", "", None)
    if group == "fraction":
        return Figure(written, start, end, "share", PERCENT, qualifier, None)
    chinese = not number[:1].isdigit()
    numeral = re.sub("[多余来几]", "", number)
    if chinese and _counts_money_by_magnitude(numeral, unit, folded[max(0, start - 1):start]):
        numeral = "一" + numeral  # 超百亿元 → 一百亿: the magnitude alone is one of it
    elif chinese and (numeral in ("一", "") or numeral == "两" and not unit or unit in words.digits_only
                    or not (unit or any(c in _CN_DIGIT for c in numeral) and len(numeral) >= 2)
                    or not any(c in _CN_DIGIT + "十" for c in numeral)):
        return None  # 一个 (an article, not an amount), 十分, 四方, 千万: words, not figures
    value = _value(re.split("[-~～至到]", numeral)[0])
    if unit == "年" and not chinese and value is not None and 1000 <= value <= 2100 and not qualifier:
        return Figure(written, start, end, "date", "年", qualifier, value)
    kind = kind_of_unit(unit) if unit else "number"
    if kind == "date" and value is not None and value > _CALENDAR.get(unit, value):
        kind = "number"  # no month has a 201st day (201号楼) and no year a 13th month: a number, not a date
    return Figure(written, start, end, kind, PERCENT if kind == "share" else unit, qualifier, value)


def _counts_money_by_magnitude(numeral: str, unit: str, before: str) -> bool:
    """A magnitude alone before a unit of money is an amount (超百亿元, 千万元): money is counted that way, while a
    magnitude before other words is a word (千家万户, 百姓, 千人托位数); not one of several (数百万元, 几百万元,
    上亿元: ``before``, the character before the figure, says so), which names no amount."""
    return (bool(numeral) and all(c in "百千万亿" for c in numeral) and kind_of_unit(unit) == "money"
            and (not before or before not in _SEVERAL))


@functools.lru_cache(maxsize=8192)  # the same passages come back answer after answer: read each once
def read_figures(text: str) -> tuple[Figure, ...]:
    """Every figure of ``text`` in order, with its role in a change (earlier / current value)."""
    folded = fold_in_place(text)
    figures = [f for m in _pattern().finditer(folded) if (f := _read(m, text, folded)) is not None]
    return tuple(_with_roles(figures, folded))


def _with_roles(figures: list[Figure], folded: str) -> list[Figure]:
    """From 65% 提高至 80%: the figure right after a change word is the current value; a figure followed,
    within its clause, by a change word and then another figure is the earlier one."""
    change = vocabulary().change
    result = []
    for i, figure in enumerate(figures):
        if figure.kind == "date":  # 1949年至1952年 is a span of time, not a change
            result.append(figure)
            continue
        role = ""
        clause_start = max(folded.rfind(mark, 0, figure.start) for mark in "，,。；;！？") + 1
        if any(folded[clause_start:figure.start].endswith(word) for word in change):
            role = "current"
        nxt = figures[i + 1] if i + 1 < len(figures) else None
        between = folded[figure.end:nxt.start] if nxt is not None else "，"
        if not re.search("[，,。；;！？]", between) and any(between.endswith(word) for word in change):
            role = "earlier"
        result.append(Figure(figure.text, figure.start, figure.end, figure.kind, figure.unit, figure.qualifier,
                             figure.value, role))
    return result


def extract_figures(text: str) -> list[str]:
    """Every figure in ``text``, verbatim, in order of appearance, without repeats."""
    return list(dict.fromkeys(f.text for f in read_figures(text)))


def figure_spans(text: str) -> list[tuple[int, int]]:
    """Where the figures are, so chunking never cuts through one and a reply quotes them as written."""
    return [(f.start, f.end) for f in read_figures(text)]


def figure_units(text: str) -> set[str]:
    """The units the amounts in ``text`` are given in (元 for 1.3亿元, 人次 for 1400多万人次, % for 80% and 3/4),
    so the search can prefer the sentence that gives the kind of amount a question asks for."""
    return {f.unit for f in read_figures(text) if f.unit and f.kind not in ("rank", "formula")}


# 多 asks how much of what follows (多大, 多长, 多久) except where it ends a word of its own (很多, 许多, 众多, 差不多,
# 没多久): 很多高校, 众多大型企业 and 没多久 ask nothing (超过多高 asks)
_ENDS_MUCH = "很许众诸好太更较大居最不没"
HOW_MUCH = f"(?<![{_ENDS_MUCH}])多"


# a question asking for the value before a change (以前是多少, 从多少提高到): the earlier figure is the one it wants.
# Not how long ago (多久以前), the past years (过去一年), nor what a thing is made of (由几名成员组成: no change).
ASKS_EARLIER = re.compile(r"(?<!多久)(?<!多少年)以前|之前|原来|原先|此前|当初|起初"
                          r"|过去(?![一二两三四五六七八九十几\d]+年)|[改整]\w{0,2}前|[从由](?:多少|几)\w*?[到至为]")
# one asking for the value now or after a change (现在是多少, 提高到多少): the current figure
ASKS_CURRENT = re.compile(r"现在|目前|如今|眼下|(?:提高|提升|增加|增长|上升|扩大|发展|降低|下降|减少|缩小|压缩|猛增"
                          r"|[增降升减])(?:到|至|为)了?(?:多少|几)")
