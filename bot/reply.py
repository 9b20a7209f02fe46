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

from .chunking import split_sentences
from .figures import ASKS_EARLIER, extract_figures, figure_units, ranked_figures
from .knowledge import citation
from .normalize import fold, looks_traditional
from .render import Span, localized, plain
from .search import Hit, SearchResult
from .subjects import subject_words


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
    """An article a reply quotes: its headline and authors."""

    article: str
    authors: tuple[str, ...] = ()

    def __str__(self) -> str:
        return citation(self.article, self.authors)


@dataclass
class Answer:
    question: str
    answered: bool
    passages: list[Passage]  # every passage the search ranked, best first (the batch interface lists them)
    shown: list[Passage]  # the passages the reply quotes from
    lead: str  # the quotable sentence that answers the question ("" when declined)
    figures: list[str]  # figures of the shown passages, the asked one first
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
        data: dict[str, Any] = {
            "question": self.question,
            "answered": self.answered,
            "answer": self.lead,
            "passages": [{"text": p.text, "section": p.section, "title": p.heading, "article": p.article,
                          "score": round(p.score, 4), "id": p.id} for p in self.passages],
            "figures": self.figures,
            "sources": [{"article": s.article, "authors": list(s.authors)} for s in self.sources],
            "reply": self.reply,
            "build": self.build,
        }
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class ReplyContext:
    """What a reply needs besides the search result: where sections come from and how to name the content."""

    sections: Mapping[str, Mapping[str, Any]]  # section id → its entry in the index (article, authors, …)
    scope: str  # the loaded content in a few words, for declines (e.g. '《…》')
    max_question_chars: int
    build: str = ""


@dataclass(frozen=True)
class _Lead:
    sentence: str
    figure: str  # the figure to set in bold ("" when the question asks for none or the sentence has none)


def _lead(hit: Hit, asked_units: frozenset[str], asks_amount: bool, earlier: bool) -> _Lead:
    """The best-matching sentence of the best passage; a question asking for an amount is answered by a
    sentence that gives one (in the asked unit where one does), and that figure is set in bold (the current
    one of a change: 80% in 从65%提高到80%, or the earlier one when the question asks what it was before)."""
    sentences = [s.strip() for s in split_sentences(hit.chunk.text)] or [hit.chunk.text]
    scores = hit.sentence_scores if len(hit.sentence_scores) == len(sentences) else [0.0] * len(sentences)
    gives = [figure_units(s) & asked_units if asked_units else bool(extract_figures(s)) for s in sentences]
    amounts = [bool(extract_figures(s)) for s in sentences]
    best = max(range(len(sentences)),
               key=lambda i: (asks_amount and bool(gives[i]), asks_amount and amounts[i], scores[i], -i))
    sentence = sentences[best]
    figures = ranked_figures(sentence, asked_units, earlier) if asks_amount else []
    return _Lead(sentence, figures[0] if figures else "")


def _support(shown: Sequence[Hit], lead: _Lead, question: str) -> tuple[Hit | None, str]:
    """The one passage shown under the quotable sentence, and its text. A passage of another section comes
    first when it names a subject of the question the best passage lacks (the question asks about two things:
    瑞安的专项贷款和文成侨家乐的收入); else the rest of the best passage around the sentence; else the next
    passage of the same section."""
    first = shown[0]
    others = [h for h in shown[1:] if h.chunk.section != first.chunk.section]
    if others:  # (tagging the question's words costs more than the rest of the reply: only when it can matter)
        missing = [w for w, _ in subject_words(question) if w not in fold(first.chunk.text)]
        for hit in others:
            if any(w in fold(hit.chunk.text) for w in missing):
                return hit, hit.chunk.text
    rest = first.chunk.text.replace(lead.sentence, "", 1).strip()
    if rest:
        return first, rest
    return next(((h, h.chunk.text) for h in shown[1:] if h.chunk.section == first.chunk.section), (None, ""))


def _figures(shown: Sequence[Hit], lead: _Lead, asked_units: frozenset[str]) -> list[str]:
    """Figures of the shown passages: the lead's bold one, the lead sentence's others, then the rest in the
    order of how well their sentences matched the question (the asked unit first)."""
    ranked: list[tuple[int, float, int, str]] = []
    for rank, hit in enumerate(shown):
        for sentence, score in zip(split_sentences(hit.chunk.text), hit.sentence_scores):
            in_lead = sentence.strip() == lead.sentence
            for figure in ranked_figures(sentence, asked_units):
                ranked.append((0 if figure == lead.figure else 1 if in_lead else 2, -score, rank, figure))
    ranked.sort(key=lambda item: (item[0], not (figure_units(item[3]) & asked_units), item[1], item[2]))
    return list(dict.fromkeys(item[3] for item in ranked))


def _heading(hit: Hit, sections: Mapping[str, Mapping[str, Any]]) -> str:
    """The section's name without its article (the reply's 出处 names the article)."""
    return str(sections.get(hit.chunk.section, {}).get("short_heading") or hit.chunk.heading)


def _passage(hit: Hit, sections: Mapping[str, Mapping[str, Any]]) -> Passage:
    section = sections.get(hit.chunk.section, {})
    return Passage(hit.chunk.id, hit.chunk.section, hit.chunk.heading, hit.chunk.text, hit.score,
                   str(section.get("article", "")))


def _sources(hits: Sequence[Hit], sections: Mapping[str, Mapping[str, Any]]) -> list[Source]:
    """The articles of the given passages, in order, each once."""
    seen: dict[Source, None] = {}
    for hit in hits:
        section = sections.get(hit.chunk.section)
        if section and section.get("article"):
            seen[Source(str(section["article"]), tuple(section.get("authors") or ()))] = None
    return list(seen)


def _with_bold(sentence: str, figure: str) -> list[Span]:
    """The sentence with its first occurrence of ``figure`` as a figure span."""
    at = sentence.find(figure) if figure else -1
    if at < 0:
        return [Span(sentence)]
    return [Span(sentence[:at]), Span(figure, "figure"), Span(sentence[at + len(figure):])]


def _source_spans(sources: Sequence[Source]) -> list[Span]:
    return [Span("出处：" + "、".join(map(str, sources)), "source")] if sources else []


def compose(question: str, result: SearchResult, context: ReplyContext) -> Answer:
    """The answer to ``question`` from one search result: what is said, as spans, and the batch fields."""
    sections = context.sections
    passages = [_passage(h, sections) for h in result.hits]
    by_id = {p.id: p for p in passages}
    spans: list[Span] = []
    if result.query.truncated:
        spans.append(Span(f"（你的问题太长，我只按前 {context.max_question_chars} 个字回答。）\n\n"))
    lead = _Lead("", "")
    quoted: list[Hit] = []
    quote: list[Span] = []
    if result.answered:
        first = result.shown[0]
        lead = _lead(first, result.query.asked_units, result.query.asks_amount,
                     bool(ASKS_EARLIER.search(result.query.normalized)))
        support, support_text = _support(result.shown, lead, result.query.normalized)
        quoted = [first] + ([support] if support is not None and support is not first else [])
        sentence = _with_bold(lead.sentence, lead.figure)
        quote = sentence + [Span("\n\n")] + _source_spans(_sources([first], sections))  # the sentence's own article
        spans += sentence
        if support is None or support.chunk.section != first.chunk.section:
            spans.append(Span(f"（{_heading(first, sections)}）"))
        spans.append(Span("\n\n"))
        if support is not None:
            spans += [Span(f"【{_heading(support, sections)}】", "heading"), Span(f"\n{support_text}\n\n")]
        spans += _source_spans(_sources(quoted, sections))
    elif result.abstain_reason == "no_figure" and result.shown:
        quoted = result.shown[:1]
        spans += [Span(f"{context.scope}讲到了相关内容，但没有给出你问的这个数字。相关的原文是：\n\n"),
                  Span(f"【{_heading(quoted[0], sections)}】", "heading"), Span(f"\n{quoted[0].chunk.text}\n\n")]
        spans += _source_spans(_sources(quoted, sections))
    else:
        spans.append(Span(f"抱歉，{context.scope}没有讲到这个问题。\n"
                          "可以换个说法再问，或者发送 /topics 看看我能回答哪些方面。"))
    traditional = looks_traditional(question[:context.max_question_chars])
    return Answer(
        question=question, answered=result.answered, passages=passages, shown=[by_id[h.chunk.id] for h in quoted],
        lead=lead.sentence, figures=_figures(quoted, lead, result.query.asked_units) if result.answered else [],
        sources=_sources(quoted, sections), traditional=traditional, truncated=result.query.truncated,
        spans=localized(spans, traditional), quote=localized(quote, traditional), build=context.build,
        reason=result.abstain_reason,
    )

