"""The feedback database under crashes, a full disk, a read-only file, and backups taken while it is written.

* kill -9 of a process writing questions and votes, several times mid-stream: the database opens, passes
  integrity_check, stays in WAL mode, every vote references a question, every write reported committed
  is there, and no transaction is half applied.
* a full disk (SQLite's max_page_count) and a read-only database (PRAGMA query_only, since tests run as
  root and chmod does not stop root): the answer still goes out and the failure is logged once.
* ``python -m bot backup`` while another thread writes: the copy is whole and has the rows.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import cli
from bot.config import load_settings
from bot.store import Store, backup_database
from devtools.fakeapi import FakeBotAPI
from tests.helpers import RunningBot, ask, bot_settings, buttons, exchange, plain

pytestmark = pytest.mark.slow  # seconds per test: left out of `make quick`

WRITER = Path(__file__).resolve().parent / "feedback_writer.py"
USER = 4242


def _store_failures(caplog: pytest.LogCaptureFixture, action: str = "store a question") -> list[logging.LogRecord]:
    return [r for r in caplog.records if f"feedback store: could not {action}" in r.getMessage()]


# ---- kill -9 ------------------------------------------------------------------------------------------


def _run_and_kill(database: Path, process: int, rng: random.Random) -> dict[str, int]:
    """Start a writer, let it write for a while, SIGKILL it mid-stream; the last ids it reported committed."""
    child = subprocess.Popen([sys.executable, str(WRITER), str(database), str(process)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    last = {"q": 0, "v": 0, "lines": 0}
    deadline = time.monotonic() + 20
    target = rng.randint(300, 900)  # writes before the kill: past a purge (every 144 questions) or two

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:  # keeps reading, so the writer never blocks on a full pipe
            kind, _, number = line.partition(" ")
            last[kind] = int(number)
            last["lines"] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while last["lines"] < target:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the writer is too slow"
        time.sleep(0.002)
    time.sleep(rng.random() * 0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    reader.join(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return last


def _check_whole(database: Path) -> tuple[set[int], set[int]]:
    """The database after a crash: opens, integrity ok, WAL, every vote's question there; (questions, voted)."""
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = connection.execute(
            "SELECT COUNT(*) FROM feedback WHERE question_id NOT IN (SELECT id FROM questions)").fetchone()[0]
        assert orphans == 0  # every vote row references an existing question row
        incomplete = connection.execute(
            "SELECT COUNT(*) FROM questions WHERE question = '' OR user_hash = '' OR asked_at = ''").fetchone()[0]
        assert incomplete == 0
        questions = {row[0] for row in connection.execute("SELECT id FROM questions")}
        voted = {row[0] for row in connection.execute("SELECT question_id FROM feedback")}
    return questions, voted


def test_kill_9_during_feedback_writes_leaves_a_whole_database(tmp_path: Path) -> None:
    database = tmp_path / "feedback.sqlite3"
    rng = random.Random(20240601)
    kills = 5
    for process in range(kills):
        committed = _run_and_kill(database, process, rng)
        questions, voted = _check_whole(database)
        # every write the writer saw committed survived the kill
        assert committed["q"] in questions
        assert committed["v"] == 0 or committed["v"] in voted
        # each question is written alone, then its vote: a kill leaves at most the writer's last question
        # without a vote. A purge half applied (its votes deleted, its questions not) would leave old
        # questions without votes.
        assert len(questions - voted) <= process + 1
    assert len(questions) > 300

    # and the store carries on with it
    store = Store(load_settings(environ={}).replace(feedback_db=str(database), user_id_salt="durability-test"))
    question = store.record_question(USER, "城市书房有多少家", True, "", ["s8-2"], "b1")
    assert question is not None and store.vote(question, USER, 1).stored
    store.close()
    _check_whole(database)


# ---- a full disk, a read-only database -----------------------------------------------------------------


class FullDiskStore(Store):
    """A store whose database cannot grow past ``pages`` pages, as on a full disk: writes that need a new
    page fail with SQLITE_FULL ("database or disk is full"); reopening does not help."""

    pages = 0

    def _open(self) -> sqlite3.Connection:
        connection = super()._open()
        if self.pages:
            connection.execute(f"PRAGMA max_page_count = {self.pages}")
        return connection


class ReadOnlyStore(Store):
    """A store whose database has become read-only (as a read-only mount or file would make it; tests run
    as root, so chmod would not stop the writes): every write fails with SQLITE_READONLY."""

    read_only = False

    def _open(self) -> sqlite3.Connection:
        connection = super()._open()
        connection.execute(f"PRAGMA query_only = {'ON' if self.read_only else 'OFF'}")
        return connection


def _fill_up(store: FullDiskStore) -> None:
    """Write until the database is at its page limit and one more write has failed."""
    assert store.record_question(USER, "第一个问题", True) is not None
    store.pages = store._open().execute("PRAGMA page_count").fetchone()[0] + 1
    for n in range(10000):
        if store.record_question(USER, f"问题{n}" + "很长的问题" * 60, True) is None:
            return
    raise AssertionError("the database never filled up")


def test_a_full_disk_fails_each_write_once_in_the_log_and_never_raises(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FullDiskStore(load_settings(environ={}).replace(feedback_db=str(tmp_path / "fb.sqlite3")))
    _fill_up(store)
    [failure] = _store_failures(caplog)
    assert "database or disk is full" in failure.getMessage() and failure.exc_info  # first one: traceback
    caplog.clear()
    assert store.record_question(USER, "又一个" * 100, True) is None  # still full after reopening
    [again] = _store_failures(caplog)
    assert not again.exc_info  # later ones: one line each
    store.pages = 0  # space freed: it works again without a restart
    assert store.record_question(USER, "空间够了", True) is not None
    store.close()


@pytest.mark.parametrize("problem", ["disk full", "read-only"])
def test_answers_go_out_when_the_feedback_database_cannot_be_written(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path, caplog: pytest.LogCaptureFixture,
        problem: str) -> None:
    settings = bot_settings(api, tmp_path, tmp_path)
    if problem == "disk full":
        store: Store = FullDiskStore(settings)
        _fill_up(store)
    else:
        store = ReadOnlyStore(settings)
        voted_on = store.record_question(USER, "城市书房有多少家", True, "", ["s8-2"], "b1")
        store.read_only = True
    running = start(store_=store)
    caplog.clear()
    caplog.set_level(logging.INFO)

    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    assert "超110家" in plain(reply) and buttons(reply) == []  # answered; nothing stored, so no vote buttons
    assert len(_store_failures(caplog)) == 1  # the failure logged once
    if problem == "read-only":
        message = api.sent_messages(USER)[-1]
        tag = store.vote_tag(voted_on, USER, "城市书房有多少家")  # what the answer's 👍 button carries
        exchange(api, lambda: api.send_callback(f"fb:+:{voted_on}:{tag}", user_id=USER, message=message),
                 method="answerCallbackQuery")
        assert "没保存成功" in api.calls("answerCallbackQuery")[-1].params["text"]
        assert len(_store_failures(caplog, "store a vote")) == 1
    [again] = ask(api, "瑞安金融专员发放的专项贷款有多少", user_id=USER)
    assert "超30亿元" in plain(again)
    assert len(_store_failures(caplog)) == 2  # one line per failed write, no more
    assert running.bot.stats.errors == 0  # never an error in a handler
    assert not [r for r in caplog.records if "error while handling an update" in r.getMessage()]


# ---- backups --------------------------------------------------------------------------------------------


def test_backup_while_writing_is_whole_and_has_the_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    monkeypatch.delenv("BOT_USER_ID_SALT", raising=False)
    database = tmp_path / "data" / "feedback.sqlite3"
    settings = load_settings(environ={}).replace(feedback_db=str(database))
    store = Store(settings)
    for n in range(200):
        store.vote(store.record_question(USER + n, f"问题{n}", True, "", ["s8-2"], "b1"), USER + n, 1)
    stop = threading.Event()
    written = [200]

    def write() -> None:  # the bot keeps writing through the backups
        n = 200
        while not stop.is_set():
            question = store.record_question(USER + n, f"问题{n}" + "长" * (n % 300), True, "", ["s8-2"], "b1")
            store.vote(question, USER + n, -1)
            n += 1
            written[0] = n

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.05)
        copies = []
        for n in range(3):
            before = written[0]
            copies.append((before, backup_database(database, tmp_path / "backups" / f"copy{n}.sqlite3")))
        before = written[0]
        assert cli.main(["--set", f"feedback_db={database}", "backup", str(tmp_path / "backups")]) == 0
        printed = capsys.readouterr().out
    finally:
        stop.set()
        writer.join()
        store.close()
    assert written[0] > before + 10  # the writer really ran alongside

    made = sorted((tmp_path / "backups").glob("feedback-*.sqlite3"))
    assert len(made) == 1 and f"backed up {database} to {made[0]}" in printed and "integrity ok" in printed
    copies.append((before, {"path": made[0], "salt": made[0].with_name(made[0].name + ".salt")}))
    for before, result in copies:
        path = result["path"]
        assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)) == \
            [path.name, path.name + ".salt"]  # one file (no -wal/-shm), with the salt beside it
        assert stat.S_IMODE(result["salt"].stat().st_mode) == 0o600
        assert result["salt"].read_bytes() == store.salt_path.read_bytes()
        with sqlite3.connect(path) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            questions, = copy.execute("SELECT COUNT(*) FROM questions").fetchone()
            votes, = copy.execute("SELECT COUNT(*) FROM feedback").fetchone()
            orphans, = copy.execute(
                "SELECT COUNT(*) FROM feedback WHERE question_id NOT IN (SELECT id FROM questions)").fetchone()
            ids = [row[0] for row in copy.execute("SELECT id FROM questions ORDER BY id")]
        assert questions >= before and votes >= before - 1 and orphans == 0  # what was there when it began
        assert ids == list(range(1, questions + 1))  # a prefix of the writes: a snapshot, no holes

    # restored, it serves: the same salt, so the same users' votes are recognised
    restored = tmp_path / "restored" / "feedback.sqlite3"
    restored.parent.mkdir()
    restored.write_bytes(made[0].read_bytes())
    (restored.parent / "feedback.sqlite3.salt").write_bytes(store.salt_path.read_bytes())
    again = Store(load_settings(environ={}).replace(feedback_db=str(restored)))
    assert again.vote(1, USER, -1).previous == 1
    assert again.totals()["questions"] >= 200
    again.close()


def test_backup_command_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    database = tmp_path / "feedback.sqlite3"
    assert cli.main(["--set", f"feedback_db={database}", "backup", str(tmp_path / "b.sqlite3")]) == 1
    assert "no feedback database" in capsys.readouterr().err and not database.exists()
    database.write_bytes(b"not a database" * 100)
    assert cli.main(["--set", f"feedback_db={database}", "backup", str(tmp_path / "b.sqlite3")]) == 1
    assert "cannot back up" in capsys.readouterr().err and not (tmp_path / "b.sqlite3").exists()
    assert not list(tmp_path.glob(".b.sqlite3.tmp-*"))  # nothing half-written left behind


def test_backup_into_a_new_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    monkeypatch.delenv("BOT_USER_ID_SALT", raising=False)
    database = tmp_path / "feedback.sqlite3"
    store = Store(load_settings(environ={}).replace(feedback_db=str(database), user_id_salt="pepper"))
    store.record_question(USER, "城市书房有多少家", True)
    store.close()
    assert cli.main(["--set", f"feedback_db={database}", "backup", f"{tmp_path / 'new' / 'backups'}/"]) == 0
    [copy] = (tmp_path / "new" / "backups").iterdir()  # a configured salt: no salt file to copy
    assert copy.name.startswith("feedback-") and "1 questions, 0 votes" in capsys.readouterr().out
