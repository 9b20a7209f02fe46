"""The one renderer: the same words as plain text and as Telegram HTML, escaped, split into valid parts."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.render import MAX_MESSAGE_UTF16, Span, html_of, localized, plain, telegram_messages, utf16_len
from devtools.fakeapi import parse_telegram_html


def test_everything_is_escaped_and_bold_kinds_are_bold() -> None:
    spans = [Span("a<b>&"), Span("<i>粗</i>", "figure"), Span(" x > y"), Span("【标题】", "heading"),
             Span("出处：《文》", "source")]
    html_text = html_of(spans)
    assert html_text == "a&lt;b&gt;&amp;<b>&lt;i&gt;粗&lt;/i&gt;</b> x &gt; y<b>【标题】</b>出处：《文》"
    assert parse_telegram_html(html_text)[0] == plain(spans)  # the same words on both channels


def test_the_words_of_every_answer_are_the_same_in_plain_text_and_telegram(engine) -> None:
    for question in ["城市书房有多少家", "火星上有多少人？", "乐清社会大救助一共帮助了多少人", "溫州的城市書房有多少家？"]:
        answer = engine.answer(question)
        shown = "".join(parse_telegram_html(part)[0] for part in telegram_messages(answer.spans))
        assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", answer.reply), question


def test_localized_changes_words_not_kinds() -> None:
    spans = localized([Span("城市书房"), Span("超110家", "figure")], traditional=True)
    assert spans == [Span("城市書房"), Span("超110家", "figure")]


def test_split_prefers_sentence_ends_and_reopens_bold() -> None:
    spans = [Span("第一句。" * 30, "strong"), Span("第二段。\n" * 30)]
    parts = telegram_messages(spans, limit=50)
    for part in parts:
        text, _ = parse_telegram_html(part)
        assert utf16_len(text) <= 50
        assert text.endswith(("。", "\n"))  # cut after a sentence end or a newline, never inside one
    assert parts[0].startswith("<b>") and parts[0].endswith("</b>")
    assert "".join(parse_telegram_html(p)[0] for p in parts) == "第一句。" * 30 + "第二段。\n" * 30


_kinds = st.sampled_from(["text", "strong", "figure", "heading", "source"])
_spans = st.lists(st.builds(Span, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
                            | st.sampled_from(["<b>", "&amp;", "a&b<c>", "。", "\n", "😀" * 50, "！？", "长" * 200]),
                            _kinds), max_size=12)


@hypothesis_settings(max_examples=150, deadline=None)
@given(_spans, st.integers(min_value=2, max_value=300))  # a surrogate pair needs 2 units
def test_parts_fit_are_valid_and_lose_no_text(spans: list[Span], limit: int) -> None:
    parts = telegram_messages(spans, limit)
    texts = []
    for part in parts:
        text, _ = parse_telegram_html(part)  # valid Telegram HTML on its own
        assert utf16_len(text) <= limit and text.strip()
        texts.append(text)
    original = "".join(s.text for s in spans)
    joined = "".join(texts)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", original)  # only whitespace-only parts are left out
    if original.strip() and utf16_len(original) <= limit:
        assert parts == [html_of(spans)]  # what fits is sent whole


_fragments = st.lists(st.text(min_size=1, max_size=30) | st.sampled_from(["😀", "长", "。", "\n", "<&>", " ", "，"]),
                      min_size=1, max_size=6)


@hypothesis_settings(max_examples=30, deadline=None)
@given(_fragments, st.integers(min_value=4000, max_value=30000), _kinds)
def test_very_long_text_is_split_into_well_filled_parts(fragments: list[str], size: int, kind: str) -> None:
    base = "".join(fragments)
    text = (base * (size // len(base) + 1))[:size]
    parts = telegram_messages([Span(text, kind)])
    texts = [parse_telegram_html(p)[0] for p in parts]
    assert all(utf16_len(t) <= MAX_MESSAGE_UTF16 for t in texts)
    assert re.sub(r"\s", "", "".join(texts)) == re.sub(r"\s", "", text)
    if utf16_len(text) > MAX_MESSAGE_UTF16 and text.strip():
        assert len(parts) >= 2 and utf16_len(texts[0]) > MAX_MESSAGE_UTF16 // 2  # parts are well filled
