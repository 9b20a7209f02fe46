"""The answer to one question, as a structure every channel renders the same way.

An answer opens with one quotable sentence from the text that answers the question (the asked figure in bold),
then at most one supporting passage under its heading, then the source: the articles of the passages shown,
and only those. When the content does not cover the question, the reply says so; when it covers the topic
but not the asked number, it says that and shows the related passage. ``bot.render`` turns the spans into
plain text or Telegram HTML, so `ask`, `chat`, `eval` and Telegram show and score the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .answer.choose import choose
from .answer.model import AnswerModel, load_answer_model
from .answer.not_given import found_and_missing
from .answer.reading import Sentence, read
from .figures import Figure
from .knowledge import Article, Section, citation
from .normalize import fold, in_script, looks_traditional
from .render import Span, localized, plain
from .search import Hit, QueryAnalysis, SearchResult


@dataclass(frozen=True)
class Passage:
    id: str
    section: str
    heading: str
    text: str
    score: float
    article: str = ""


@dataclass(frozen=True)
class Source:
    """An article a reply quotes: its headline and authors (the 出处), and for staff who check it: its date,
    its address (article.yaml's ``url``) and the headings of the sections quoted from it."""

    article: str
    authors: tuple[str, ...] = ()
    date: str = ""
    link: str = ""
    sections: tuple[str, ...] = ()

    def __str__(self) -> str:
        return citation(self.article, self.authors)

    def to_json(self, traditional: bool = False) -> dict[str, Any]:
        return {"article": in_script(self.article, traditional),
                "authors": [in_script(a, traditional) for a in self.authors], "date": self.date,
                "link": self.link, "section": in_script(self.sections[0], traditional) if self.sections else "",
                "sections": [in_script(s, traditional) for s in self.sections]}


@dataclass
class Answer:
    question: str
    answered: bool
    passages: list[Passage]  # every passage the search ranked, best first (the batch interface lists them)
    shown: list[Passage]  # the passages the reply quotes from
    lead: str  # the quotable sentence that answers the question ("" when declined)
    figure: str | None  # the figure in bold, as written (with qualifier and unit); None when none is asked
    figures: list[str]  # figures of the shown passages, the likeliest answer first
    sources: list[Source]
    traditional: bool
    truncated: bool
    spans: list[Span]
    quote: list[Span] = field(default_factory=list)  # the quotable sentence (figure in bold) and 出处, to share
    build: str = ""  # the index build that answered, so staff can tell which content a reply came from
    reason: str = ""  # why the bot declined: "off_topic", "no_figure"; "" when it answered

    @property
    def reply(self) -> str:
        """The reply as plain text, exactly the words Telegram shows."""
        return plain(self.spans)

    def to_json(self) -> dict[str, Any]:
        """The batch interface: the quotable answer, ranked passages with their articles, figures, sources."""
        script = self.traditional  # a Traditional question gets every field in Traditional, like its reply;
        # a passage's text stays as written (the original that ids and pins point at)
        data: dict[str, Any] = {
            "question": self.question,
            "answered": self.answered,
            "answer": in_script(self.lead, script),
            "passages": [{"text": p.text, "section": p.section, "title": in_script(p.heading, script),
                          "article": in_script(p.article, script), "score": round(p.score, 4), "id": p.id}
                         for p in self.passages],
            "figure": in_script(self.figure, script) if self.figure is not None else None,
            "figures": [in_script(f, script) for f in self.figures],
            "sources": [s.to_json(script) for s in self.sources],
            "reply": self.reply,
            "build": self.build,
        }
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class ReplyContext:
    """What a reply needs besides the search result: where sections come from and how to name the content."""

    sections: Mapping[str, Section]  # section id → the section as the index holds it (article, authors, …)
    articles: Mapping[str, Article]  # article id → the article (date, link) for the sources
    scope: str  # the loaded content in a few words, for declines (e.g. '《…》')
    max_question_chars: int
    build: str = ""
    decide_given: bool = True  # say "not given" when the shown passages lack the asked figure (a setting)
    model: AnswerModel = field(default_factory=load_answer_model)


def _support(shown: Sequence[Hit], lead_hit: Hit, lead: str, query: QueryAnalysis) -> tuple[Hit | None, str]:
    """The one passage shown under the quotable sentence, and its text. A passage of another section comes
    first when it names a subject of the question the lead's passage lacks (the question asks about two things:
    瑞安的专项贷款和文成侨家乐的收入); else the rest of the lead's passage around the sentence; else the next
    passage of the same section."""
    others = [h for h in shown if h.chunk.section != lead_hit.chunk.section]
    if others:
        missing = [w for w in query.subject if w not in fold(lead_hit.chunk.text)]
        for hit in others:
            if any(w in fold(hit.chunk.text) for w in missing):
                return hit, hit.chunk.text
    rest = lead_hit.chunk.text.replace(lead, "", 1).strip()
    if rest:
        return lead_hit, rest
    return next(((h, h.chunk.text) for h in shown if h is not lead_hit and h.chunk.section == lead_hit.chunk.section),
                (None, ""))


def _heading(hit: Hit, sections: Mapping[str, Section]) -> str:
    """The section's name without its article (the reply's 出处 names the article)."""
    section = sections.get(hit.chunk.section)
    return (section.short_heading if section else "") or hit.chunk.heading


def _passage(hit: Hit, sections: Mapping[str, Section]) -> Passage:
    section = sections.get(hit.chunk.section)
    return Passage(hit.chunk.id, hit.chunk.section, hit.chunk.heading, hit.chunk.text, hit.score,
                   section.article if section else "")


def _sources(hits: Sequence[Hit], sections: Mapping[str, Section], articles: Mapping[str, Article]) -> list[Source]:
    """The articles of the given passages, in order, each once, with the sections quoted from each."""
    found: dict[tuple[str, tuple[str, ...]], tuple[Section, list[str]]] = {}
    for hit in hits:
        section = sections.get(hit.chunk.section)
        if section and section.article:
            found.setdefault((section.article, section.authors), (section, []))[1].append(_heading(hit, sections))
    sources = []
    for (headline, authors), (first, headings) in found.items():
        article = articles.get(first.article_id)
        sources.append(Source(headline, authors, article.date if article else "", article.url if article else "",
                              tuple(dict.fromkeys(headings))))
    return sources


def _with_bold(sentence: Sentence, figure: Figure | None) -> list[Span]:
    """The quoted sentence with ``figure`` (one of its own) as a figure span."""
    text, offset = sentence.quoted, len(sentence.text) - len(sentence.text.lstrip())
    if figure is None:
        return [Span(text)]
    start, end = figure.start - offset, figure.end - offset
    return [Span(text[:start]), Span(text[start:end], "figure"), Span(text[end:])]


def _source_spans(sources: Sequence[Source]) -> list[Span]:
    return [Span("出处：" + "、".join(map(str, sources)), "source")] if sources else []


def _not_given(query: QueryAnalysis, hit: Hit, context: ReplyContext) -> list[Span]:
    """The passage is on topic but does not give the asked figure: say what it talks about and what it does not
    give (…讲到了城市书房，但没有给出一次能借几本书), then the passage."""
    section = context.sections.get(hit.chunk.section)
    article = section.article if section else ""
    where = f"《{article}》" if article else context.scope
    topic, missing = found_and_missing(query, hit.chunk.text)
    if query.asks_earlier and missing:
        missing = "以前的数字"
    said = (f"{where}讲到了{topic or '相关内容'}，但没有给出{missing or '你问的这个数字'}。相关的原文是：\n\n")
    return [Span(said), Span(f"【{_heading(hit, context.sections)}】", "heading"), Span(f"\n{hit.chunk.text}\n\n")]


def compose(question: str, result: SearchResult, context: ReplyContext, repeat_of: str = "") -> Answer:
    """The answer to ``question`` from one search result: what is said, as spans, and the batch fields. A
    sentence equal to ``repeat_of`` is no answer: the question asked it of another subject (那苍南呢)."""
    sections = context.sections
    passages = [_passage(h, sections) for h in result.hits]
    by_id = {p.id: p for p in passages}
    spans: list[Span] = []
    if result.query.truncated:
        spans.append(Span(f"（你的问题太长，我只按前 {context.max_question_chars} 个字回答。）\n\n"))
    # a reviewed pin says its passage answers: the answer step only chooses the sentence (or quotes the pinned one)
    pinned = result.pin.sentence if result.pin is not None else None
    choice = choose(read(result), context.model, context.decide_given and result.pin is None, pinned) \
        if result.answered else None
    answered = choice is not None and choice.given and choice.sentence is not None
    if answered and repeat_of and choice is not None and choice.sentence is not None:
        answered = choice.sentence.quoted != repeat_of
    reason = result.abstain_reason or ("" if answered else "no_figure")
    lead = ""
    quoted: list[Hit] = []
    quote: list[Span] = []
    if choice is not None and answered and choice.sentence is not None:
        lead_hit = result.shown[choice.sentence.hit]
        lead = choice.sentence.quoted
        support, support_text = _support(result.shown, lead_hit, lead, result.query)
        quoted = [lead_hit] + ([support] if support is not None and support is not lead_hit else [])
        sentence = _with_bold(choice.sentence, choice.figure)
        own_article = _sources([lead_hit], sections, context.articles)  # the quoted sentence's own article
        quote = sentence + [Span("\n\n")] + _source_spans(own_article)
        spans += sentence
        if support is None or support.chunk.section != lead_hit.chunk.section:
            spans.append(Span(f"（{_heading(lead_hit, sections)}）"))
        spans.append(Span("\n\n"))
        if support is not None:
            spans += [Span(f"【{_heading(support, sections)}】", "heading"), Span(f"\n{support_text}\n\n")]
        spans += _source_spans(_sources(quoted, sections, context.articles))
    elif choice is not None and result.shown:
        hit = result.shown[0]  # the closest passage: the one the search ranked first
        quoted = [hit]
        spans += _not_given(result.query, hit, context) + _source_spans(_sources(quoted, sections, context.articles))
    else:
        spans.append(Span(f"抱歉，{context.scope}没有讲到这个问题。\n"
                          "可以换个说法再问，或者发送 /topics 看看我能回答哪些方面。"))
    traditional = looks_traditional(question[:context.max_question_chars])
    quoted_text = "".join(h.chunk.text for h in quoted)
    figures = list(dict.fromkeys(f.text for f in choice.figures if f.text in quoted_text)) \
        if choice is not None and answered else []
    return Answer(
        question=question, answered=answered, passages=passages, shown=[by_id[h.chunk.id] for h in quoted],
        lead=lead, figure=choice.figure.text if choice is not None and answered and choice.figure else None,
        figures=figures, sources=_sources(quoted, sections, context.articles), traditional=traditional,
        truncated=result.query.truncated, spans=localized(spans, traditional), quote=localized(quote, traditional),
        build=context.build, reason=reason,
    )
