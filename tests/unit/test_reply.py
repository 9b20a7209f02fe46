"""The reply as spans: the quoted sentence with its bold figure, the passage, the source; or "not given"."""

from __future__ import annotations

from bot.answer.reading import passage_sentences
from bot.chunking import Chunk
from bot.render import html_of


def _first_paragraph(answer) -> list:
    spans = []
    for span in answer.spans:
        if "\n\n" in span.text:
            break
        spans.append(span)
    return spans


def test_the_reply_opens_with_the_quoted_sentence_and_one_bold_figure(engine) -> None:
    answer = engine.answer("托育机构新增了多少个托位")
    opening = _first_paragraph(answer)
    assert "".join(s.text for s in opening).startswith(answer.lead)
    assert [s.text for s in opening if s.kind == "figure"] == [answer.figure]
    assert f"<b>{answer.figure}</b>" in html_of(answer.spans)
    assert [s.kind for s in answer.quote].count("figure") == 1 and answer.quote[-1].kind == "source"


def test_not_given_in_traditional_names_the_topic_in_traditional(engine) -> None:
    answer = engine.answer("城市書房的建設花了多少錢")
    assert answer.reason == "no_figure" and answer.traditional
    assert "講到了城市書房" in answer.reply and "沒有給出" in answer.reply
    assert not [s for s in answer.spans if s.kind == "figure"] and not answer.quote


def test_a_declined_question_has_no_figure_in_the_batch_output(engine) -> None:
    data = engine.answer("明天温州会下雨吗").to_json()
    assert data["reason"] == "off_topic" and data["figure"] is None and data["figures"] == [] and data["answer"] == ""


def test_passages_are_read_in_the_sentences_the_index_holds_not_split_again() -> None:
    made = Chunk("s-1", "s", "标题", "标题", "城市书房110家。总藏书120多万册！")
    assert made.sentences == ("城市书房110家。", "总藏书120多万册！")  # split once, when the passage is made
    stored = Chunk("s-1", "s", "标题", "标题", made.text, sentences=("城市书房110家。总藏书120多万册！",))
    assert passage_sentences(stored) == ["城市书房110家。总藏书120多万册！"]
    assert passage_sentences(made) == list(made.sentences)
