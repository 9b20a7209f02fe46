"""Deep-link payloads and the inline cache: the pure parts of the Telegram extras."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings
from bot.store import SCHEMA_VERSION, Store
from bot.telegram.inline import InlineCache, cache_key
from bot.telegram.links import deep_link, payload_section, start_payload

TELEGRAM_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def test_todays_section_ids_are_their_own_readable_payload() -> None:
    assert [start_payload(i) for i in ("s8", "intro", "s10")] == ["s8", "intro", "s10"]
    assert deep_link("wenzhou_qa_bot", "s8") == "https://t.me/wenzhou_qa_bot?start=s8"
    assert payload_section("s8", ["intro", "s8"]) == "s8"
    assert payload_section("s9", ["intro", "s8"]) is None  # a link to content that is gone


@given(st.text(min_size=1, max_size=200))
def test_any_section_id_round_trips_through_a_valid_payload(section_id: str) -> None:
    payload = start_payload(section_id)
    assert TELEGRAM_PAYLOAD.fullmatch(payload)
    assert payload_section(payload, ["intro", section_id, "s8"]) == section_id


def test_long_and_non_ascii_ids_and_malformed_payloads() -> None:
    ids = ["样本八", "温州" * 40, "-dash"]
    payloads = [start_payload(i) for i in ids]
    assert payloads[0].startswith("-b") and payloads[1].startswith("-h") and payloads[2].startswith("-b")
    assert [payload_section(p, ids) for p in payloads] == ids
    for broken in ("-b", "-b!!", "-b_w", "-h00", "-x", "-"):
        assert payload_section(broken, ids) is None


def test_inline_cache_keys_fold_how_a_question_is_typed_but_not_the_script_or_build() -> None:
    key = cache_key("城市书房有多少家？", "b1")
    assert cache_key(" 城市书房 有多少家 ", "b1") == key == cache_key("城市书房有多少家", "b1")
    assert cache_key("城市書房有多少家", "b1") != key  # the reply would be in Traditional
    assert cache_key("城市书房有多少家", "b2") != key  # another index build
    assert cache_key("city library", "b1") != cache_key("citylibrary", "b1")


def test_inline_cache_drops_the_least_recently_used() -> None:
    cache = InlineCache(2)
    cache.put(("a", False, "b"), [])
    cache.put(("b", False, "b"), [])
    assert cache.get(("a", False, "b")) == []  # a is now the most recent
    cache.put(("c", False, "b"), [])
    assert cache.get(("b", False, "b")) is None and len(cache) == 2
    none = InlineCache(0)
    none.put(("a", False, "b"), [])
    assert none.get(("a", False, "b")) is None


V1_SCHEMA = """
CREATE TABLE questions (id INTEGER PRIMARY KEY, asked_at TEXT NOT NULL, user_hash TEXT NOT NULL,
    question TEXT NOT NULL, normalized TEXT NOT NULL, answered INTEGER NOT NULL,
    abstain_reason TEXT NOT NULL DEFAULT '', passage_ids TEXT NOT NULL DEFAULT '[]',
    build_id TEXT NOT NULL DEFAULT '');
CREATE INDEX questions_asked_at ON questions (asked_at);
CREATE TABLE feedback (question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_hash TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at TEXT NOT NULL,
    PRIMARY KEY (question_id, user_hash));
CREATE INDEX feedback_voted_at ON feedback (voted_at);
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    settings = load_settings(environ={}).replace(feedback_db=str(path), user_id_salt="s" * 40,
                                                 feedback_retention_days=0)
    store = Store(settings)
    with sqlite3.connect(path) as connection:
        connection.executescript(V1_SCHEMA)
        connection.execute("INSERT INTO questions VALUES (1, '2025-01-01 00:00:00', ?, '城市书房有多少家', "
                           "'城市书房有多少家', 1, '', '[\"s8-1\"]', 'old')", (store.hash_user(5),))
        connection.execute("INSERT INTO feedback VALUES (1, ?, -1, '2025-01-01 00:00:01')", (store.hash_user(5),))
    connection.close()
    assert store.explain_vote(1, 5, "figure", "应是110多家")  # the old 👎 can now say what was wrong
    assert store.add_comment(5, "多讲讲托育")
    [down] = store.report()["downvoted"]
    assert (down["question"], down["passages"], down["shown"]) == ("城市书房有多少家", ["s8-1"], "")
    assert down["reasons"] == [{"reason": "figure", "text": "应是110多家"}]
    assert not store.explain_vote(1, 6, "off")  # someone who did not vote 👎
    store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    connection.close()
