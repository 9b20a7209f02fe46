"""The answer to one question, and its plain-text reply (terminal, `ask --json`; Telegram formats its own).

A reply leads with the figures a citizen asked for, exactly as the article writes them, then the
passages they come from under their sample headings, then the source. When the article does not cover
the question, the reply says so and lists what the bot can answer instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .chunking import split_sentences
from .figures import extract_figures, figure_units
from .normalize import looks_traditional, to_traditional
from .search import Hit, SearchResult, Searcher


@dataclass(frozen=True)
class Passage:
    id: str
    section: str
    heading: str
    text: str
    score: float


@dataclass
class Answer:
    question: str
    answered: bool
    passages: list[Passage]
    shown: list[Passage]
    figures: list[str]
    traditional: bool
    truncated: bool
    source: str
    build: str = ""  # the index build that answered, so staff can tell which content a reply came from
    abstain_reason: str = ""
    topics: list[str] = field(default_factory=list)
    reply: str = ""

    def to_json(self) -> dict[str, Any]:
        """The batch interface: question, answered, ranked passages, figures, full reply text."""
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [{"text": p.text, "section": p.section, "title": p.heading, "score": round(p.score, 4),
                          "id": p.id} for p in self.passages],
            "figures": self.figures,
            "reply": self.reply,
            "build": self.build,
        }


def _key_figures(shown: list[Hit], limit: int, asked_units: frozenset[str] = frozenset()) -> list[str]:
    """Figures of the shown passages: those of the first passage's sample in the unit asked for (元 for
    多少钱) first, then those in the sentences that matched the question best."""
    ranked: list[tuple[bool, float, int, str]] = []
    for rank, hit in enumerate(shown):
        same_sample = hit.chunk.section == shown[0].chunk.section
        for sentence, score in zip(split_sentences(hit.chunk.text), hit.sentence_scores):
            ranked.extend((not (same_sample and figure_units(figure) & asked_units), -score, rank, figure)
                          for figure in extract_figures(sentence))
    ranked.sort(key=lambda item: item[:3])
    return list(dict.fromkeys(item[3] for item in ranked))[:limit]


def compose(question: str, result: SearchResult, searcher: Searcher, topics: list[str], source: str,
            build: str = "") -> Answer:
    settings = searcher.settings
    passages = [Passage(h.chunk.id, h.chunk.section, h.chunk.heading, h.chunk.text, h.score) for h in result.hits]
    shown: list[Passage] = []
    figures: list[str] = []
    if result.answered:
        shown_hits = searcher.shown(result.hits)
        shown = passages[:len(shown_hits)]
        figures = _key_figures(shown_hits, settings.reply_max_figures, result.query.asked_units)
    elif result.abstain_reason == "no_figure":
        shown = passages[:1]  # the related passage, so the user sees what the article does say
    answer = Answer(question=question, answered=result.answered, passages=passages, shown=shown, figures=figures,
                    traditional=looks_traditional(question[:settings.max_question_chars]), truncated=result.query.truncated, source=source,
                    build=build, abstain_reason=result.abstain_reason, topics=topics)
    answer.reply = plain_reply(answer)
    return answer


def localize(answer: Answer, text: str) -> str:
    """Reply in the user's script: Traditional questions get Traditional replies."""
    return to_traditional(text) if answer.traditional else text


def plain_reply(answer: Answer) -> str:
    lines: list[str] = []
    if answer.truncated:
        lines += ["(问题太长，只按前面部分回答。)", ""]
    if answer.abstain_reason == "no_figure":
        lines += ["文章讲到了相关内容，但没有给出你问的这个数字。相关的原文是：", ""]
        for passage in answer.shown:
            lines += [f"【{passage.heading}】", passage.text, ""]
        lines.append(f"出处：{answer.source}")
        return localize(answer, "\n".join(lines))
    if not answer.answered:
        lines += ["抱歉，这篇文章没有讲到这个问题。", f"我能回答的是{answer.source}里的内容："]
        lines += [f"· {t}" for t in answer.topics]
        lines += ["", "可以换个说法，或问问上面这些方面的情况。"]
        return localize(answer, "\n".join(lines))
    if answer.figures:
        lines += ["关键数字：" + "　".join(answer.figures), ""]
    for passage in answer.shown:
        lines += [f"【{passage.heading}】", passage.text, ""]
    lines.append(f"出处：{answer.source}")
    return localize(answer, "\n".join(lines))
