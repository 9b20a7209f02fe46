"""Any text at all: normalization, search and the plain reply never raise and keep their promises."""

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.figures import extract_figures
from bot.normalize import normalize_query

# everything Unicode has: controls, RTL marks, emoji, surrogate-free astral characters, HTML specials
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)
CHINESE_ISH = st.text(st.sampled_from(list("温州城市书房多少家侨家乐贷款亿元%。，？!<>&\"'\u200f\u202e😀 \n\t0123456789")),
                      max_size=120)


@given(ANY_TEXT)
def test_normalized_query_has_no_controls_or_invisible_marks(text):
    folded = normalize_query(text)
    assert folded == folded.strip()
    assert not any(unicodedata.category(c) == "Cc" for c in folded)
    assert "\u202e" not in folded and "\u200b" not in folded
    assert normalize_query(folded) == folded  # folding twice changes nothing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(ANY_TEXT, CHINESE_ISH, st.text(max_size=5).map(lambda t: t * 20000)))
def test_any_question_gets_a_well_formed_answer(fake_engine, text):
    answer = fake_engine.answer(text)
    assert isinstance(answer.reply, str) and answer.reply.strip()
    assert all(len(p.text) <= 300 for p in answer.passages)
    assert answer.truncated == (len(text) > fake_engine.settings.max_question_chars)
    if answer.answered:
        shown = "".join(p.text for p in answer.shown)
        assert all(f in shown for f in answer.figures)  # figures are verbatim from what is shown
    else:
        assert not answer.figures
    output = answer.to_json()
    assert set(output) >= {"question", "answered", "passages", "figures", "reply"}


@given(CHINESE_ISH)
def test_figures_are_substrings(text):
    assert all(f in text for f in extract_figures(text))
