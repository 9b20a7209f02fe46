"""The one codec of button data: what the bot encodes comes back as it was, fits Telegram's 64 bytes, reaches only
its own handler; forged data parses to nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store import DOWN_REASONS
from bot.telegram import buttons
from bot.telegram.buttons import MAX_CALLBACK_BYTES, MAX_ROW_ID, ItemRef, Reason, Vote

# each kind: its handler pattern and its parser
KINDS: dict[str, tuple[re.Pattern[str], Callable[[str | None], object]]] = {
    "topic": (buttons.TOPIC, buttons.parse_topic),
    "article": (buttons.ARTICLE, buttons.parse_article),
    "page": (buttons.PAGE, buttons.parse_page),
    "menu": (buttons.MENU, lambda data: True if data == buttons.MENU_DATA else None),  # no data to parse
    "example": (buttons.EXAMPLE, buttons.parse_example),
    "vote": (buttons.VOTE, buttons.parse_vote),
    "reason": (buttons.REASON, buttons.parse_reason),
    "review_pin": (buttons.REVIEW_PIN, buttons.parse_review_pin),
    "review_skip": (buttons.REVIEW_SKIP, buttons.parse_review_skip),
    "review_none": (buttons.REVIEW_NONE, buttons.parse_review_none),
}
QUESTION = "托育老师不够咋整"  # a reviewed question's report key
LONG_PASSAGE = "第一篇很长很长的文章名字-" * 4 + "12"  # an id that does not fit: carried as its hash
TAG = "Zz-_09aB"  # vote tags are 8 URL-safe characters (Store.vote_tag)


def kinds_matching(data: str) -> set[str]:
    """The kinds whose handler would get ``data``: python-telegram-bot tests a pattern with re.match."""
    return {kind for kind, (pattern, _) in KINDS.items() if re.match(pattern, data)}


def encoded_examples() -> list[tuple[str, str, object]]:
    """(kind, data, what it parses to) for one button of each kind and form."""
    return [
        ("topic", buttons.topic_data("s8"), ItemRef(plain="s8")),
        ("article", buttons.article_data("温州"), ItemRef(hashed=buttons.topic_data("温州")[2:])),
        ("page", buttons.page_data(3), 3),
        ("menu", buttons.MENU_DATA, True),
        ("example", buttons.example_data(0), 0),
        ("vote", buttons.vote_data(1, 42, TAG), Vote(1, 42, TAG)),
        ("vote", buttons.vote_data(-1, MAX_ROW_ID, TAG), Vote(-1, MAX_ROW_ID, TAG)),
        *[("reason", buttons.reason_data(code, 7), Reason(code, 7)) for code in DOWN_REASONS],
        ("review_pin", buttons.review_pin_data(QUESTION, "s6-1"),
         buttons.ReviewPin(buttons.question_hash(QUESTION), ItemRef(plain="s6-1"))),
        ("review_pin", buttons.review_pin_data(QUESTION, LONG_PASSAGE),
         buttons.ReviewPin(buttons.question_hash(QUESTION), ItemRef(hashed=buttons.topic_data(LONG_PASSAGE)[2:]))),
        ("review_skip", buttons.review_skip_data(QUESTION), buttons.question_hash(QUESTION)),
        ("review_none", buttons.review_none_data(QUESTION), buttons.question_hash(QUESTION)),
    ]


@pytest.mark.parametrize("kind, data, value", encoded_examples())
def test_every_kind_round_trips_and_reaches_only_its_handler(kind: str, data: str, value: object) -> None:
    assert KINDS[kind][1](data) == value
    assert kinds_matching(data) == {kind}
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES


def test_todays_button_data_is_unchanged() -> None:
    """Buttons under messages sent before an upgrade keep working: the encodings are stable."""
    assert buttons.topic_data("water-saving-city-2") == "t:water-saving-city-2"
    assert buttons.page_data(1) == "tp:1" and buttons.example_data(2) == "ex:2"
    assert buttons.vote_data(-1, 5, TAG) == f"fb:-:5:{TAG}" and buttons.reason_data("figure", 5) == "why:figure:5"


@given(st.text(min_size=1, max_size=300))
def test_any_section_id_fits_a_button_and_names_that_section_only(section_id: str) -> None:
    data = buttons.topic_data(section_id)
    assert 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    ref = buttons.parse_topic(data)
    assert ref is not None and ref.names(section_id) and not ref.names(section_id + "x")
    assert kinds_matching(data) == {"topic"}


def test_an_id_that_does_not_fit_is_carried_as_its_hash() -> None:
    long_id = "s" * 61
    for section_id in ("样本八", "a b", long_id):
        data = buttons.topic_data(section_id)
        assert re.fullmatch(r"t#[0-9a-f]{16}", data), data
    assert buttons.topic_data("s" * 60) == "t:" + "s" * 60


@pytest.mark.parametrize("data", [
    "", "t:", "t#", "t#0123", "t:" + "s" * 61, "t:s8\n", "t:s 8", "tp:", "tp:12345", "tp:-1", "ex:", "ex:1000",
    "ex:-1", "fb:+:0:" + TAG, "fb:*:1:" + TAG, "fb:+:1:short", "fb:+:1:" + TAG + "x", f"fb:+:{MAX_ROW_ID + 1}:{TAG}",
    "fb:+:01:" + TAG, "why:OFF:1", "why:off:0", "why:off:", f"why:off:{MAX_ROW_ID + 1}", "why:toolongreason:1",
    "xyz", "t", "tp", "fb", "why", "topic", "topics ", "topicsx", "a:", "a#12", "a:" + "x" * 61,
])
def test_forged_or_malformed_data_parses_to_nothing(data: str) -> None:
    assert all(parse(data) is None for _, parse in KINDS.values())


@pytest.mark.parametrize("data", [f"fb:+:{MAX_ROW_ID + 1}:{TAG}", f"why:off:{10 ** 19 - 1}"])
def test_a_row_id_sqlite_cannot_hold_reaches_its_handler_which_refuses_it(data: str) -> None:
    """The one thing the patterns do not check: the handler gets it, parses None and answers "expired"."""
    [kind] = kinds_matching(data)
    assert KINDS[kind][1](data) is None


def test_parsers_take_no_data_at_all() -> None:
    assert all(parse(None) is None for _, parse in KINDS.values())
