"""Any input at all through the real reply path: the engine's answer formatted as the bot sends it.

Hypothesis feeds questions of any Unicode (controls, RTL and zero-width marks, emoji, astral characters,
HTML and Markdown specials, up to 100,000 characters) to an Engine over a fake-embedder index, and the
answer goes through the one renderer (``bot.render.telegram_messages``) and the keyboards. The
messages must be valid Telegram HTML (``devtools.fakeapi.parse_telegram_html``), at most 4096 UTF-16 units
each, never empty, and an over-long question is cut to max_question_chars with a note saying so. Two
cases go end to end through the fake server.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine
from bot.normalize import normalize_query, to_traditional
from bot.render import MAX_MESSAGE_UTF16, telegram_messages
from bot.telegram.buttons import MAX_CALLBACK_BYTES
from bot.telegram.cards import topics_keyboard
from bot.telegram.keyboards import feedback_keyboard
from devtools.fakeapi import FakeBotAPI, parse_telegram_html, utf16_len
from tests.helpers import RunningBot, ask, buttons, plain

pytestmark = pytest.mark.slow  # seconds per test: left out of `make quick`

NOTE = "你的问题太长"
SPECIALS = ["<", ">", "&", "<b>", "</b>", "&amp;", "&#0;", "&lt", "*", "_", "`", "[", "](", "~", "|", "\\",
            "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202d", "\u200f", "\u200e", "\u2066",
            "\u2069", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\r\n", "\n", "\t", "\u2028", "😀", "👍🏽", "🇨🇳",
            "👨‍👩‍👧", "𠀀", "𝕏", "\U0010fffd", "城市书房有多少家", "溫州", "超110家", "？", "。", " ", "\u3000"]
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=500)
MIXED = st.lists(st.sampled_from(SPECIALS) | st.text(max_size=5), max_size=80).map("".join)
HUGE = st.tuples(st.sampled_from(SPECIALS + ["城市书房有多少家？", "a b ", "长"]),
                 st.integers(min_value=250, max_value=100_000)).map(lambda p: (p[0] * (p[1] // len(p[0]) + 1))[:p[1]])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(st.one_of(ANY_TEXT, MIXED, HUGE))
def test_any_question_becomes_valid_telegram_messages(fake_engine: Engine, question: str) -> None:
    limit = int(fake_engine.settings.max_question_chars)
    answer = fake_engine.answer(question)
    parts = telegram_messages(answer.spans)
    assert parts
    texts = []
    for part in parts:
        text, entities = parse_telegram_html(part)  # what Telegram would accept, or HTMLParseError
        assert text.strip() and utf16_len(text) <= MAX_MESSAGE_UTF16
        assert all(e["type"] == "bold" for e in entities)
        texts.append(text)
    script = to_traditional if answer.traditional else str  # a Traditional question gets a Traditional reply
    if len(question) > limit:  # cut to the setting, and the reply says so first
        assert answer.truncated and texts[0].startswith(script(f"（{NOTE}，我只按前 {limit} 个字回答。）"))
    else:
        assert not answer.truncated and script(NOTE) not in texts[0]
    if answer.answered:
        assert all(script(f) in "".join(texts) for f in answer.figures)
        markup = feedback_keyboard(2**63 - 1, "Zz-_09aB")  # the largest row id and a tag
    else:
        markup = topics_keyboard(fake_engine.index.content, answer.traditional)
    for row in markup.inline_keyboard:
        for button in row:
            assert button.text.strip() and 1 <= len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES


BIDI_CLASSES = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


@given(st.one_of(ANY_TEXT, MIXED))
def test_the_matched_question_has_no_bidirectional_or_invisible_marks(question: str) -> None:
    """RTL overrides and isolates (U+2066–U+2069), LRM/RLM/ALM, soft hyphens: pasted text carries them,
    and left in they split words apart (城\u2066市 is not 城市 to the lexical index)."""
    folded = normalize_query(question)
    assert not [c for c in folded if unicodedata.bidirectional(c) in BIDI_CLASSES or c in "\u200e\u200f\u061c\u00ad"]


@pytest.mark.parametrize("question, figure", [
    ("城市书房有多少家？" * 11112, "超110家"),  # 100,008 characters
    ("😀" * 100_000, None),  # 200,000 UTF-16 units
])
def test_a_100k_character_message_end_to_end(api: FakeBotAPI, start: Callable[..., RunningBot],
                                              question: str, figure: str | None) -> None:
    running = start()
    [reply] = ask(api, question)
    text = plain(reply)  # valid Telegram HTML, or the fake would have refused it
    assert text.startswith(f"（{NOTE}，我只按前 300 个字回答。）") and utf16_len(text) <= MAX_MESSAGE_UTF16
    assert figure is None or figure in text
    assert running.bot.stats.errors == 0
    totals = running.store.totals()
    assert totals["questions"] == 1  # stored, cut to the setting
    stored = running.store._open().execute("SELECT question FROM questions").fetchone()[0]
    assert stored == question[:300]


def test_control_and_rtl_characters_end_to_end(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    running = start()
    question = "\u202e城市\u200b书房\x00有\u200f多\u2067少\x07家\u2066？\u2069 <b>&*_`[\x1b\r\n\u2028"
    [reply] = ask(api, question)
    text = plain(reply)
    assert "超110家" in text and "\x00" not in text and "\u202e" not in text
    assert [d for _, d in buttons(reply)][0].startswith("fb:+:")
    [hint] = ask(api, "\u200b\u200f\x00 \u202e")  # nothing but invisible characters: not a question
    assert plain(hint)
    assert running.bot.stats.errors == 0
