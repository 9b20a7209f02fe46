"""What the bot shows of the loaded content: topic cards, the /topics list and its pages, /start and /about.

The one Telegram module that reads the loaded content (``engine.index.content``, a ``knowledge.Content``).
Pure functions over spans, tested through the bot; answers are rendered by ``bot.render`` like everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..chunking import split_sentences
from ..figures import extract_figures
from ..knowledge import Article, Content, Section, bot_name, citation
from ..render import Span, localized
from ..text import AFTER_CLAUSE_END, CLAUSE_END_MARKS, shortened
from .base import in_script
from .buttons import ItemRef, article_data, page_data, topic_data
from .links import payload_section

TOPIC_BUTTON_CHARS = 28  # longer topic titles are cut on their buttons
TOPICS_PER_PAGE = 12  # section buttons per /topics page; more turn pages
NOTICE_CHARS = 200  # Telegram's limit for the notice a button press shows


# ---- a topic's card ---------------------------------------------------------------------------------


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
    1400多万人次), never as a bare number; the first ``limit`` not in the ``shown`` text, in order, each
    without its closing punctuation (they are listed one a line, all alike)."""
    clauses = (c.strip().rstrip(CLAUSE_END_MARKS) for p in paragraphs for c in AFTER_CLAUSE_END.split(p))
    return [c for c in clauses if extract_figures(c) and c not in shown][:limit]


def _figures_bold(text: str) -> list[Span]:
    """``text`` with its figures as figure spans."""
    spans, rest = [], text
    for figure in extract_figures(text):
        before, _, rest = rest.partition(figure)
        spans += [Span(before), Span(figure, "figure")]
    return spans + [Span(rest)]


def topic_spans(section: Section, max_chars: int, max_figures: int, traditional: bool = False) -> list[Span]:
    """A section's card: heading (bold), its area, a short summary and the figures in their clauses (figures
    bold in both)."""
    spans = [Span(section.heading, "heading"), Span("\n")]
    if section.area:
        spans.append(Span(f"（{section.area}）\n"))
    summary = summary_of(section.paragraphs, max_chars)
    spans += [Span("\n"), *_figures_bold(summary)]
    clauses = figure_clauses(section.paragraphs, max_figures, summary)
    if clauses:
        spans.append(Span("\n\n文中的数字："))
        for clause in clauses:
            spans += [Span("\n· "), *_figures_bold(clause)]
    spans.append(Span("\n\n想知道细节，直接问我就行。"))
    return localized(spans, traditional)


def find_section(content: Content, ref: ItemRef) -> Section | None:
    """The loaded section a topic button names, or None (content changed since the button was sent)."""
    return next((s for s in content.sections if ref.names(s.id)), None)


def linked_section(content: Content, payload: str) -> Section | None:
    """The loaded section a deep link's start payload names, or None."""
    section_id = payload_section(payload, (s.id for s in content.sections))
    return next((s for s in content.sections if s.id == section_id), None)


def section_name(content: Content, section_id: str) -> str:
    """A section's name within its article (样本八 · …), or "" for a section no longer loaded."""
    section = content.section(section_id)
    return (section.short_heading or section.heading) if section is not None else ""


def warm_up_question(content: Content) -> str:
    """A question to answer before users arrive, so lazy model parts are loaded by then."""
    return content.sections[0].title if content.sections else "你好"


def _citation(article: Article) -> str:
    return citation(article.headline, article.authors)


# ---- the /topics list -----------------------------------------------------------------------------


def topic_pages(content: Content) -> list[list[str]]:
    """Section ids page by page, in the order articles and sections are listed: an article is never split
    across pages unless it alone has more than TOPICS_PER_PAGE sections. Always at least one page."""
    pages: list[list[str]] = []
    for article in content.articles:
        ids = [s.id for s in content.sections_of(article)]
        if pages and len(pages[-1]) + len(ids) <= TOPICS_PER_PAGE:
            pages[-1] += ids
        else:
            pages += [ids[i:i + TOPICS_PER_PAGE] for i in range(0, len(ids), TOPICS_PER_PAGE)]
    return pages or [[]]


def topics_keyboard(content: Content, traditional: bool = False,
                    page: int = 0) -> InlineKeyboardMarkup:
    """One button per section, under a button naming its article when several are loaded (a tap tells what
    the article is), whole articles a page with ◀/▶ to turn pages (a long list would fill the phone screen)."""
    articles = content.articles
    rows: list[list[InlineKeyboardButton]] = []
    pages = topic_pages(content)
    page = min(max(page, 0), len(pages) - 1)
    shown = set(pages[page])
    for article in articles:
        own = [s for s in content.sections_of(article) if s.id in shown]
        if not own:
            continue
        if len(articles) > 1:
            title = in_script(shortened(f"📄《{article.headline}》", TOPIC_BUTTON_CHARS), traditional)
            rows.append([InlineKeyboardButton(title, callback_data=article_data(article.id))])
        for section in own:
            label = shortened(section.short_heading or section.heading, TOPIC_BUTTON_CHARS)
            rows.append([InlineKeyboardButton(in_script(label, traditional), callback_data=topic_data(section.id))])
    turn = []
    if page > 0:
        turn.append(InlineKeyboardButton(in_script("◀ 上一页", traditional), callback_data=page_data(page - 1)))
    if page < len(pages) - 1:
        label = in_script(f"下一页 ▶（{page + 2}/{len(pages)}）", traditional)
        turn.append(InlineKeyboardButton(label, callback_data=page_data(page + 1)))
    if turn:
        rows.append(turn)
    return InlineKeyboardMarkup(rows)


def topics_intro_spans(content: Content, traditional: bool = False) -> list[Span]:
    """The text above the /topics buttons: which articles, how many parts each."""
    articles = content.articles
    if len(articles) == 1:
        article = articles[0]
        spans = [Span("文章"), Span(_citation(article), "strong"),
                 Span(f"共 {len(content.sections_of(article))} 部分。")]
    else:
        spans = [Span(f"我载入了 {len(articles)} 篇文章：\n")]
        for n, article in enumerate(articles, 1):
            spans += [Span(f"{n}. "), Span(_citation(article), "strong"),
                      Span(f"，{len(content.sections_of(article))} 部分\n")]
    spans.append(Span("点一个部分看摘要和里面的数字："))
    return localized(spans, traditional)


def article_notice(content: Content, ref: ItemRef, traditional: bool = False) -> str | None:
    """What a tap on an article's header in the /topics list says (a short notice), or None for an article
    no longer loaded."""
    article = next((a for a in content.articles if ref.names(a.id)), None)
    if article is None:
        return None
    text = (f"{_citation(article)}：共 {len(content.sections_of(article))} 部分，"
            "点下面的按钮看各部分的摘要和数字。")
    return shortened(in_script(text, traditional), NOTICE_CHARS)


# ---- /start and /about ----------------------------------------------------------------------------------


def greeting_spans(content: Content, with_examples: bool, traditional: bool = False) -> list[Span]:
    """/start: who the bot is, where its content comes from, how to ask."""
    spans = [Span(f"你好！我是{bot_name(content)}。\n\n"), Span("我知道的内容来自")]
    for n, article in enumerate(content.articles):
        spans += [Span("、" if n else ""), Span(_citation(article), "strong")]
    spans += [Span(f"，共 {len(content.sections)} 部分。\n\n直接把问题发给我，我会找出文中的原话和数字，并注明出处。"),
              Span("\n\n/topics 看文章讲了哪些方面，/help 查看用法。")]
    if with_examples:
        spans.append(Span("\n\n可以先试试下面这些问题："))
    return localized(spans, traditional)


def about_spans(content: Content, manifest: Mapping[str, Any], traditional: bool = False) -> list[Span]:
    """/about: each article, its source on a line of its own (a source's own parentheses then never nest in
    the authors'), then the index build."""
    articles = content.articles
    spans = [Span("内容来源：", "strong"), Span("\n")]
    for article in articles:
        spans.append(Span(f"· {_citation(article)}，{len(content.sections_of(article))} 部分\n"))
        details = "；".join(f"{label}：{value}" for value, label in
                           ((article.source, "来源"), (article.date, "日期"), (article.url, "链接")) if value)
        if details:
            spans.append(Span(f"  {details}\n"))
    spans += [Span(f"共 {len(articles)} 篇文章、{manifest.get('section_count', len(content.sections))} 部分，"
                   f"{manifest.get('chunk_count', '?')} 段原文。\n"),
              Span("索引版本：", "strong"),
              Span(f"{manifest.get('build_id', '?')}（建于 {manifest.get('built_at', '?')}，"
                   f"模型 {manifest.get('model_id', '?')}）\n\n"),
              Span("回答都引自原文并注明出处；文章没讲到的问题，我不会编造答案。")]
    return localized(spans, traditional)
