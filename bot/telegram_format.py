"""Telegram's own pieces: topic cards, keyboards and callback data, example questions.

Pure functions, tested directly. Answers are rendered by ``bot.render`` like everywhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from .callbacks import example_data, topic_data, vote_data
from .chunking import split_sentences
from .errors import KnowledgeError
from .figures import extract_figures
from .knowledge import EXAMPLES_FILE, articles_of, citation, parse_examples, read_yaml
from .normalize import to_traditional
from .render import Span, localized
from .store import DOWN_REASONS

log = logging.getLogger(__name__)

_CLAUSE = re.compile(r"(?<=[，,。；;！？!?])")  # where a card's figure clauses end

START_EXAMPLES = 4  # example questions offered under /start
TOPIC_BUTTON_CHARS = 28  # longer topic titles are cut on their buttons
TOPICS_PER_PAGE = 12  # section buttons per /topics page; more articles turn pages


def summary_of(paragraphs: Sequence[str], max_chars: int) -> str:
    """The section's first sentences up to ``max_chars`` (at least one sentence, cut with … if longer)."""
    summary = ""
    for sentence in (s for p in paragraphs for s in split_sentences(p)):
        if summary and len(summary) + len(sentence) > max_chars:
            break
        summary += sentence.strip()
        if len(summary) >= max_chars:
            break
    return summary if len(summary) <= max_chars else summary[:max_chars - 1] + "…"


def figure_clauses(paragraphs: Sequence[str], limit: int, shown: str = "") -> list[str]:
    """The clauses that give the section's figures, so each figure is read with what it counts (累计接待读者
    1400多万人次), never as a bare number; the first ``limit`` not in the ``shown`` text, in order."""
    clauses = (c.strip().rstrip("，,；;") for p in paragraphs for c in _CLAUSE.split(p))
    return [c for c in clauses if extract_figures(c) and c not in shown][:limit]


def _figures_bold(text: str) -> list[Span]:
    """``text`` with its figures as figure spans."""
    spans, rest = [], text
    for figure in extract_figures(text):
        before, _, rest = rest.partition(figure)
        spans += [Span(before), Span(figure, "figure")]
    return spans + [Span(rest)]


def topic_spans(section: dict[str, Any], max_chars: int, max_figures: int, traditional: bool = False) -> list[Span]:
    """A section's card: heading (bold), its area, a short summary and the figures in their clauses (figures
    bold in both)."""
    spans = [Span(section["heading"], "heading"), Span("\n")]
    if section.get("area"):
        spans.append(Span(f"（{section['area']}）\n"))
    summary = summary_of(section["paragraphs"], max_chars)
    spans += [Span("\n"), *_figures_bold(summary)]
    clauses = figure_clauses(section["paragraphs"], max_figures, summary)
    if clauses:
        spans.append(Span("\n\n文中的数字："))
        for clause in clauses:
            spans += [Span("\n· "), *_figures_bold(clause)]
    spans.append(Span("\n\n想知道细节，直接问我就行。"))
    return localized(spans, traditional)


# ==============================================================================================
# Keyboards and callback data
# ==============================================================================================


def feedback_keyboard(question_id: int, tag: str, chosen: int = 0, traditional: bool = False) -> InlineKeyboardMarkup:
    """👍/👎 under an answer; the chosen one is marked (pressing the other one changes the vote)."""
    up = ("✅ " if chosen == 1 else "") + "👍 有用"
    down = ("✅ " if chosen == -1 else "") + "👎 没用"
    if traditional:
        up, down = to_traditional(up), to_traditional(down)
    return InlineKeyboardMarkup([[InlineKeyboardButton(up, callback_data=vote_data(1, question_id, tag)),
                                  InlineKeyboardButton(down, callback_data=vote_data(-1, question_id, tag))]])


def reason_keyboard(question_id: int, chosen: str = "", traditional: bool = False) -> InlineKeyboardMarkup:
    """What was wrong with a 👎 answer, one tap each (``why:<reason>:<question id>``); the chosen one marked."""
    buttons = []
    for code, label in DOWN_REASONS.items():
        text = ("✅ " if code == chosen else "") + (to_traditional(label) if traditional else label)
        buttons.append(InlineKeyboardButton(text, callback_data=f"why:{code}:{question_id}"))
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


_TRADITIONAL_LANGUAGES = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


def prefers_traditional(language_code: str | None) -> bool:
    """Whether a user's Telegram language (zh-hant, zh-TW, zh-HK …) reads Traditional characters: the
    script for labels before the user has written anything."""
    return (language_code or "").lower().startswith(_TRADITIONAL_LANGUAGES)


def shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut with … to at most ``limit`` characters (a button label, an inline title)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def topics_keyboard(sections: Sequence[dict[str, Any]], traditional: bool = False,
                    page: int = 0) -> InlineKeyboardMarkup:
    """One button per section, grouped under a button naming each article when several are loaded, at most
    TOPICS_PER_PAGE section buttons a page with ◀/▶ to turn pages (a long list would fill the phone screen)."""
    articles = articles_of(sections)
    rows: list[list[InlineKeyboardButton]] = []
    pages = topic_pages(sections)
    page = min(max(page, 0), len(pages) - 1)
    shown = set(pages[page])
    for article in articles:
        own = [s for s in article["sections"] if s["id"] in shown]
        if not own:
            continue
        if len(articles) > 1:
            title = shortened(f"📄《{article['headline']}》", TOPIC_BUTTON_CHARS)
            rows.append([InlineKeyboardButton(to_traditional(title) if traditional else title,
                                              callback_data=f"tp:{page}")])
        for section in own:
            label = shortened(section.get("short_heading") or section["heading"], TOPIC_BUTTON_CHARS)
            rows.append([InlineKeyboardButton(to_traditional(label) if traditional else label,
                                              callback_data=topic_data(section["id"]))])
    turn = []
    if page > 0:
        turn.append(InlineKeyboardButton("◀ 上一页", callback_data=f"tp:{page - 1}"))
    if page < len(pages) - 1:
        turn.append(InlineKeyboardButton(f"下一页 ▶（{page + 2}/{len(pages)}）", callback_data=f"tp:{page + 1}"))
    if turn:
        rows.append(turn)
    return InlineKeyboardMarkup(rows)


def topic_pages(sections: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Section ids page by page, in the order articles and sections are listed; always at least one page."""
    ids = [s["id"] for article in articles_of(sections) for s in article["sections"]]
    return [ids[i:i + TOPICS_PER_PAGE] for i in range(0, len(ids), TOPICS_PER_PAGE)] or [[]]


def topics_intro_spans(sections: Sequence[dict[str, Any]], traditional: bool = False) -> list[Span]:
    """The text above the /topics buttons: which articles, how many parts each."""
    articles = articles_of(sections)
    if len(articles) == 1:
        article = articles[0]
        spans = [Span("文章"), Span(citation(article["headline"], article["authors"]), "strong"),
                 Span(f"共 {len(article['sections'])} 部分。")]
    else:
        spans = [Span(f"我载入了 {len(articles)} 篇文章：\n")]
        for n, article in enumerate(articles, 1):
            spans += [Span(f"{n}. "), Span(citation(article["headline"], article["authors"]), "strong"),
                      Span(f"，{len(article['sections'])} 部分\n")]
    spans.append(Span("点一个部分看摘要和里面的数字："))
    return localized(spans, traditional)


def examples_keyboard(examples: Sequence[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(q, callback_data=example_data(i))]
                                 for i, q in enumerate(examples[:START_EXAMPLES])])


def load_examples(knowledge_dir: Path) -> list[str]:
    """The example questions of ``knowledge_dir/examples.yaml`` (``questions: [...]``); [] if there is none."""
    path = knowledge_dir / EXAMPLES_FILE
    if not path.exists():
        log.info("no %s: /start shows no example questions", path)
        return []
    problems: list[str] = []
    readable, data = read_yaml(path, EXAMPLES_FILE, problems)
    questions, errors = parse_examples(data, EXAMPLES_FILE) if readable else ([], [])
    if problems or errors:
        raise KnowledgeError(problems + errors)
    return questions
