"""The feedback store (bot.store) and `python -m bot report`: what staff rely on to improve the content."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from bot import cli
from bot.config import Settings, load_settings
from bot.store import SCHEMA_VERSION, Store, format_report

DAY = 86400.0
START = 1_764_000_000.0  # 2025-11-24 16:00 UTC
USER = 731842659


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def store_settings(tmp_path: Path, **changes: object) -> Settings:
    return load_settings(environ={}).replace(feedback_db=str(tmp_path / "var" / "bot" / "feedback.sqlite3"),
                                             **changes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    store = Store(store_settings(tmp_path), clock=clock)
    yield store
    store.close()


def test_the_database_is_created_on_first_use_with_wal_and_a_schema_version(tmp_path: Path,
                                                                            store: Store) -> None:
    assert not store.path.exists()  # nothing happens before the first question
    assert store.record_question(USER, "城市书房有多少家", True, "", ["s8-2"], "b1") == 1
    assert store.path.exists() and store.path.parent == tmp_path / "var" / "bot"
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_user_ids_are_hashed_with_a_kept_salt(tmp_path: Path, store: Store) -> None:
    question = store.record_question(USER, "城市书房有多少家", True, "", ["s8-2", "s8-3"])
    assert store.vote(question, USER, 1).stored
    store.close()
    salt = store.salt_path
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600 and len(salt.read_text().strip()) == 64
    again = Store(store_settings(tmp_path), clock=Clock())
    assert again.hash_user(USER) == store.hash_user(USER)  # stable across restarts
    assert again.vote(question, USER, -1).previous == 1  # so the same user's vote is replaced, not added
    again.close()
    for path in store.path.parent.iterdir():
        assert str(USER).encode() not in path.read_bytes(), path
    with sqlite3.connect(store.path) as connection:
        hashes = {row[0] for row in connection.execute("SELECT user_hash FROM questions UNION "
                                                       "SELECT user_hash FROM feedback")}
    assert hashes == {store.hash_user(USER)}


def test_a_configured_salt_is_used_and_no_salt_file_is_written(tmp_path: Path) -> None:
    first = Store(store_settings(tmp_path, user_id_salt="pepper-1"))
    second = Store(store_settings(tmp_path / "other", user_id_salt="pepper-2"))
    first.record_question(USER, "问题", True)
    assert not first.salt_path.exists()
    assert first.hash_user(USER) != second.hash_user(USER) and first.hash_user(USER) != first.hash_user(USER + 1)
    first.close()
    salt = load_settings(environ={"BOT_USER_ID_SALT": "from-env"}).user_id_salt
    assert salt == "from-env"


def test_one_vote_per_user_per_answer(store: Store) -> None:
    question = store.record_question(USER, "城市书房有多少家", True, "", ["s8-2"])
    first = store.vote(question, USER, 1)
    assert first.stored and first.previous is None
    assert store.vote(question, USER, 1).previous == 1
    assert store.vote(question, USER, -1).previous == 1
    assert store.vote(question, USER + 1, 1).stored
    assert store.totals() == {"questions": 1, "answered": 1, "abstained": 0, "answered_share": 1.0,
                              "up": 1, "down": 1}
    assert store.vote(question + 1, USER, 1) == type(first)(False, problem="unknown")
    with pytest.raises(ValueError):
        store.vote(question, USER, 0)


def test_old_rows_are_deleted_at_start_up_and_daily(tmp_path: Path, clock: Clock) -> None:
    settings = store_settings(tmp_path, feedback_retention_days=30)
    store = Store(settings, clock=clock)
    old = store.record_question(USER, "旧问题", False, "off_topic")
    store.vote(old, USER, -1)
    clock.now += 20 * DAY
    recent = store.record_question(USER, "新问题", True)
    store.close()

    clock.now += 15 * DAY  # the old question is now 35 days old, the recent one 15
    reopened = Store(settings, clock=clock)
    assert reopened.totals()["questions"] == 1  # purged when the store opened
    assert reopened.vote(old, USER, 1).problem == "unknown" and reopened.vote(recent, USER, 1).stored

    clock.now += 10 * DAY  # the store keeps running: the next write after a day purges again
    reopened.record_question(USER, "又一个问题", True)
    assert reopened.totals()["questions"] == 2
    clock.now += 6 * DAY  # "新问题" (and its vote) is past 30 days now
    reopened.record_question(USER, "再一个", True)
    assert reopened.totals() == {"questions": 2, "answered": 2, "abstained": 0, "answered_share": 1.0,
                                 "up": 0, "down": 0}
    reopened.close()

    forever = Store(store_settings(tmp_path, feedback_retention_days=0), clock=Clock(clock.now + 1000 * DAY))
    assert forever.purge() == 0 and forever.totals()["questions"] == 2
    forever.close()


def test_a_broken_database_never_raises_to_the_bot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = store_settings(tmp_path)
    path = settings.path("feedback_db")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage, not SQLite" * 50)
    store = Store(settings)
    assert store.record_question(USER, "城市书房有多少家", True) is None
    assert store.vote(1, USER, 1).problem == "error"
    assert store.purge() == 0
    assert store.failures == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and "could not store a question" in errors[0].getMessage()
    assert errors[0].exc_info and not errors[1].exc_info  # one traceback, then one line each
    assert store.log_hash(USER)  # log lines can still name the user, hashed


def test_a_folder_that_cannot_be_created_is_a_logged_failure(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "file").write_text("x")
    store = Store(load_settings(environ={}).replace(feedback_db=str(tmp_path / "file" / "db.sqlite3")))
    assert store.record_question(USER, "问题", True) is None
    assert "feedback store: could not store a question" in caplog.text
    assert len(store.log_hash(USER)) == 16


def test_a_newer_schema_is_not_touched(tmp_path: Path) -> None:
    settings = store_settings(tmp_path)
    path = settings.path("feedback_db")
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = Store(settings)
    assert store.record_question(USER, "问题", True) is None
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


def fill(store: Store, clock: Clock) -> None:
    """Three users; 医院 unanswered 3 times (in both scripts), 火星 once; 书房 down-voted twice."""
    for user, text in [(1, "温州有多少医院？"), (2, "溫州有多少醫院"), (3, " 温州有多少医院? ")]:
        store.record_question(user, text, False, "off_topic", ["s7-2"])
        clock.now += 60
    store.record_question(1, "火星上有人吗", False, "off_topic")
    clock.now += 60
    store.record_question(1, "城市书房有多少个座位", False, "no_figure", ["s8-1"])
    for user in (1, 2, 3):
        question = store.record_question(user, "城市书房有多少家", True, "", ["s8-2", "s8-3"])
        store.vote(question, user, -1 if user < 3 else 1)
        clock.now += 60
    good = store.record_question(4, "瑞安金融专员发放的专项贷款有多少", True, "", ["s2-2"])
    store.vote(good, 4, 1)


def test_report_groups_questions_most_frequent_first(store: Store, clock: Clock) -> None:
    fill(store, clock)
    report = store.report(days=30, limit=10)
    assert report["totals"] == {"questions": 9, "answered": 4, "abstained": 5, "answered_share": 0.4444,
                                "up": 2, "down": 2}
    first, *rest = report["unanswered"]
    assert first["count"] == 3 and first["normalized"] == "温州有多少医院" and first["question"] == " 温州有多少医院? "
    assert {r["question"] for r in rest} == {"火星上有人吗", "城市书房有多少个座位"}
    assert [r["reason"] for r in rest if r["question"] == "城市书房有多少个座位"] == ["no_figure"]
    [down] = report["downvoted"]
    assert (down["question"], down["down"], down["up"], down["passages"]) == ("城市书房有多少家", 2, 1, ["s8-2", "s8-3"])
    assert down["last_asked"].startswith("2025-11-24 ")
    assert store.report(days=30, limit=1)["unanswered"] == [first]
    clock.now += 40 * DAY
    assert store.report(days=30)["totals"]["questions"] == 0 and store.report(days=0)["totals"]["questions"] == 9

    text = format_report(store.report(days=0))
    assert "问题 9 个，已回答 4（44%）" in text and "👍 2  👎 2" in text
    lines = text.splitlines()
    unanswered = lines.index("未回答的问题（最常见的在前）：")
    assert "温州有多少医院" in lines[unanswered + 2] and lines[unanswered + 2].split()[0] == "3"
    assert any("城市书房有多少家 → s8-2、s8-3" in line for line in lines)


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    path = tmp_path / "fb.sqlite3"
    assert cli.main(["--set", f"feedback_db={path}", "report"]) == 1
    assert "no feedback database" in capsys.readouterr().err and not path.exists()

    store = Store(load_settings(environ={}).replace(feedback_db=str(path)))
    fill(store, Clock(__import__("time").time() - 3600))
    store.close()
    assert cli.main(["--set", f"feedback_db={path}", "report", "--days", "7", "--limit", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["days"] == 7 and report["totals"]["questions"] == 9
    assert report["unanswered"][0]["count"] == 3 and report["downvoted"][0]["down"] == 2
    assert cli.main(["--set", f"feedback_db={path}", "report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("问答反馈报告（最近 30 天）") and "被点 👎 的问题" in out


def test_report_shows_what_users_wrote_escaped_one_line_per_entry(store: Store, clock: Clock) -> None:
    bell, escape, override = "\a", "\x1b[2J\x1b]0;pwned\a", "\u202e"
    question = store.record_question(1, f"城市书房{escape}有多少家\n第二行", True, "", ["s8-2"],
                                     shown=f"超110家{bell}")
    store.vote(question, 1, -1)
    store.explain_vote(question, 1, "other", f"数字不对\r\n应该是{override}120家{bell}")
    store.record_question(2, "火星\x9b31m上有人吗\u2028", False, "off_topic")
    store.add_comment(3, f"第一行\n第二行{bell}\t结束")
    text = format_report(store.report(days=0))
    assert not [c for c in text if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u202e"]
    lines = text.splitlines()
    [asked] = [line for line in lines if "城市书房" in line]
    assert "城市书房\\x1b[2J\\x1b]0;pwned\\x07有多少家\\n第二行 → “超110家\\x07”" in asked
    [why] = [line for line in lines if "哪里不对" in line]
    assert why.endswith("其他 · 数字不对\\r\\n应该是\\u202e120家\\x07")
    assert any(line.endswith("火星\\x9b31m上有人吗") for line in lines)
    [comment] = [line for line in lines if "第一行" in line]
    assert comment.endswith("第一行\\n第二行\\x07\\t结束")
    assert not [line for line in lines if line.lstrip().startswith(("第二行", "应该是", "结束"))]  # nothing split
