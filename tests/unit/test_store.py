"""The store on both backends (SQLite and a real PostgreSQL server): the same calls give the same rows and
reports; chat memory is one row per chat under a hashed key and expires; the 👎 prompts and the rate windows
are shared by every Store on the database, as replicas need. PostgreSQL-only: the URL's password never
shows, schema versions, a lost connection."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest
from test_feedback import DAY, USER, Clock, fill

from bot import cli
from bot.config import load_settings
from bot.errors import ConfigError, FeedbackStoreError
from bot.store import SCHEMA_VERSION, RateLimiter, Store
from tests.store_fixtures import StoreSettings


def _count(store: Store, table: str) -> int:
    return int(store._open().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


# ---- the same semantics on both backends ----------------------------------------------------------------------

def test_feedback_and_the_report_are_the_same_on_both_backends(store_settings: StoreSettings) -> None:
    clock = Clock()
    store = Store(store_settings(), clock=clock)
    fill(store, clock)
    report = store.report(days=30, limit=10)
    assert report["totals"] == {"questions": 9, "answered": 4, "abstained": 5, "answered_share": 0.4444,
                                "up": 2, "down": 2}
    first, *rest = report["unanswered"]
    assert (first["count"], first["normalized"], first["question"]) == (3, "温州有多少医院", " 温州有多少医院? ")
    assert {(r["question"], r["reason"]) for r in rest} == {("火星上有人吗", "off_topic"),
                                                            ("城市书房有多少个座位", "no_figure")}
    [down] = report["downvoted"]
    assert (down["question"], down["down"], down["up"], down["passages"]) == ("城市书房有多少家", 2, 1, ["s8-2", "s8-3"])
    assert store.report(days=30, limit=1)["unanswered"] == [first]

    question = store.record_question(5, "托位新增多少个", True, "", ["s3-1"], "b1", shown="新增托位1.1万个")
    assert store.vote(question, 5, -1).stored and store.vote(question, 5, -1).previous == -1
    assert store.explain_vote(question, 5, "figure", "应该是1.2万")
    assert not store.explain_vote(question, 6, "off")  # no 👎 from that user
    assert store.add_comment(5, "多讲讲托育")
    report = store.report(days=0)
    [down] = [d for d in report["downvoted"] if d["question"] == "托位新增多少个"]
    assert down["shown"] == "新增托位1.1万个" and down["reasons"] == [{"reason": "figure", "text": "应该是1.2万"}]
    assert [c["text"] for c in report["comments"]] == ["多讲讲托育"]
    assert store.vote(question + 100, 5, 1).problem == "unknown"
    store.close()


def test_rows_past_their_retention_are_not_read_and_are_deleted(store_settings: StoreSettings) -> None:
    clock = Clock()
    store = Store(store_settings(feedback_retention_days=30, conversation_retention_days=1), clock=clock)
    question = store.record_question(USER, "城市书房有多少家", True)
    store.save_memory(USER, '{"last_question":{"question":"城市书房有多少家"}}')
    assert store.remember_prompt(USER, 501, question, keep=20)
    clock.now += 0.5 * DAY
    assert store.load_memory(USER) is not None and store.prompted_question(USER, 501) == question
    clock.now += 1 * DAY  # past the chat memory's retention, well within the feedback's
    assert store.load_memory(USER) is None and store.prompted_question(USER, 501) is None
    assert store.purge() == 2 and _count(store, "chat_memory") == 0 and _count(store, "why_prompts") == 0
    assert store.totals()["questions"] == 1
    clock.now += 30 * DAY
    assert store.purge() == 1 and store.totals()["questions"] == 0
    store.close()


def test_chat_memory_is_one_row_per_chat_under_a_key_that_is_not_the_chat_id(store_settings: StoreSettings) -> None:
    store = Store(store_settings())
    for chat in (USER, USER + 1, -100123):
        store.save_memory(chat, json.dumps({"n": chat}))
    store.save_memory(USER, '{"n":"again"}')
    assert _count(store, "chat_memory") == 3  # the chat's row replaced, the others untouched
    assert store.load_memory(USER) == '{"n":"again"}' and store.load_memory(-100123) == '{"n": -100123}'
    assert store.load_memory(42) is None
    keys = [row[0] for row in store._open().execute("SELECT chat_key FROM chat_memory").fetchall()]
    assert all(len(key) == 64 and str(USER) not in key for key in keys)
    assert store.hash_chat(USER) != store.hash_user(USER)  # a private chat's key does not name its user
    store.drop_memory(USER)
    assert store.load_memory(USER) is None and _count(store, "chat_memory") == 2
    store.close()


def test_a_prompt_is_found_by_every_store_on_the_database(store_settings: StoreSettings) -> None:
    settings = store_settings()
    first, second = Store(settings), Store(settings)  # two replicas
    question = first.record_question(USER, "城市书房有多少家", True)
    assert first.remember_prompt(USER, 701, question, keep=2)
    assert second.prompted_question(USER, 701) == question
    assert second.prompted_question(USER + 1, 701) is None  # the same message id in another chat
    assert second.remember_prompt(USER, 702, question, keep=2) and first.remember_prompt(USER, 703, question, keep=2)
    assert first.prompted_question(USER, 701) is None  # only the chat's latest two are kept
    assert [second.prompted_question(USER, m) for m in (702, 703)] == [question, question]
    first.close()
    second.close()


def test_shared_rate_windows_follow_the_in_process_rule(store_settings: StoreSettings) -> None:
    clock = Clock()
    store = Store(store_settings(), clock=clock)
    shared = RateLimiter("questions", limit=3, store=store, window=60)
    local = RateLimiter("questions", 3, window=60, clock=clock)
    for offset in (0, 1, 2, 3, 4, 30, 61, 61.5, 62, 62.5, 63.5, 200):
        clock.now = 1_764_000_000.0 + offset
        expected, got = local.check(USER), shared.check(USER)
        assert (got.allowed, got.tell) == (expected.allowed, expected.tell) and got.wait == pytest.approx(
            expected.wait), offset
    assert store._open().execute("SELECT COUNT(*) FROM rate_windows").fetchone()[0] == 1  # counted in the store
    other = RateLimiter("updates", limit=1, store=store, window=60)
    assert other.check(USER).allowed and not other.check(USER).allowed  # each scope counts on its own
    off = RateLimiter("questions", limit=0, store=store).check(USER)
    assert (off.allowed, off.tell, off.wait) == (True, False, 0.0)  # 0: off
    store.close()


def test_rate_windows_count_events_from_several_stores_at_once(store_settings: StoreSettings) -> None:
    settings = store_settings()
    stores = [Store(settings) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(store: Store) -> None:
        for _ in range(15):
            decision = store.rate_check("questions", USER, 25, 3600)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=hammer, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 60 and allowed.count(True) == 25  # exactly the limit, whoever checked
    for store in stores:
        store.close()


# ---- SQLite only ----------------------------------------------------------------------------------------------

def test_a_broken_store_allows_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"not a database " * 100)
    limiter = RateLimiter("updates", limit=2, store=Store(load_settings(environ={}).replace(feedback_db=str(path))))
    assert [limiter.check(USER).allowed for _ in range(5)] == [True, True, False, False, False]  # counted here
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_an_older_sqlite_store_is_upgraded_in_place(tmp_path: Path) -> None:
    settings = load_settings(environ={}).replace(feedback_db=str(tmp_path / "feedback.sqlite3"))
    store = Store(settings)
    question = store.record_question(USER, "城市书房有多少家", True)
    connection = store._open()
    for table in ("chat_memory", "why_prompts", "rate_windows"):  # back to version 2
        connection.execute(f"DROP TABLE {table}")
    connection.execute("PRAGMA user_version = 2")
    store.close()
    again = Store(settings)
    assert again.remember_prompt(USER, 5, question, keep=20) and again.prompted_question(USER, 5) == question
    assert again._open().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert again.totals()["questions"] == 1
    again.close()


# ---- PostgreSQL only -----------------------------------------------------------------------------------------

def _wrong_password(url: str) -> str:
    return url.replace(url.split("://postgres:")[1].split("@")[0], "Wr0ng-pa55word")


@pytest.mark.postgres
def test_the_database_url_and_its_password_never_show(postgres_url: str, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    password = postgres_url.split("://postgres:")[1].split("@")[0]
    wrong = _wrong_password(postgres_url)
    store = Store(load_settings(environ={"DATABASE_URL": wrong}))
    assert store.record_question(USER, "问题", True) is None  # logged, not raised
    with pytest.raises(FeedbackStoreError) as refused:
        store.report()
    failure = str(refused.value)
    assert "postgresql://postgres@127.0.0.1:" in failure and "password" in failure.lower()
    shown = caplog.text + failure
    assert "Wr0ng-pa55word" not in shown and password not in shown and "\n" not in failure
    with pytest.raises(FeedbackStoreError) as no_server:  # nothing listens there: psycopg says so in two lines
        Store(load_settings(environ={"DATABASE_URL": "postgresql://bot:S3cret-pw@127.0.0.1:1/bot"})).report()
    assert "\n" not in str(no_server.value) and "S3cret-pw" not in str(no_server.value)
    assert store.where == postgres_url.replace(f":{password}@", "@")

    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert cli.main(["settings"]) == 0
    out = capsys.readouterr().out
    assert password not in out and 'database_url: "***"' in out
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(f"database_url: {postgres_url}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="secret") as in_file:
        load_settings(settings_file, environ={})
    assert password not in str(in_file.value)
    preferred = load_settings(environ={"DATABASE_URL": wrong, "BOT_DATABASE_URL": postgres_url})
    assert preferred.database_url == postgres_url  # $BOT_DATABASE_URL wins over the generic name


def test_a_database_url_that_is_not_postgresql_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="postgresql://") as refused:
        Store(load_settings(environ={"DATABASE_URL": "mysql://bot:hunter2@db/bot"}))
    assert "hunter2" not in str(refused.value)


@pytest.mark.postgres
def test_the_report_and_backup_commands_on_postgresql(postgres_url: str, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clock = Clock(time.time() - 3600)
    store = Store(load_settings(environ={"DATABASE_URL": postgres_url}), clock=clock)
    fill(store, clock)
    store.close()
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert cli.main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["questions"] == 9 and report["unanswered"][0]["count"] == 3
    assert cli.main(["backup", str(tmp_path / "copy.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pg_dump" in err and not (tmp_path / "copy.sqlite3").exists()


@pytest.mark.postgres
def test_replicas_hash_alike_with_the_salt_kept_in_the_database(postgres_url: str) -> None:
    settings = load_settings(environ={"DATABASE_URL": postgres_url})
    first, second = Store(settings), Store(settings)
    assert first.hash_user(USER) == second.hash_user(USER) and first.hash_chat(5) == second.hash_chat(5)
    configured = Store(settings.replace(user_id_salt="pepper-3"))
    assert configured.hash_user(USER) != first.hash_user(USER)
    for store in (first, second, configured):
        store.close()


@pytest.mark.postgres
def test_replicas_starting_at_once_create_the_schema_once(postgres_url: str) -> None:
    settings = load_settings(environ={"DATABASE_URL": postgres_url})
    stores = [Store(settings) for _ in range(4)]
    ids: list[int | None] = []
    threads = [threading.Thread(target=lambda s=s: ids.append(s.record_question(USER, "问题", True))) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for i in ids if i is not None) == [1, 2, 3, 4]
    with psycopg.connect(postgres_url) as connection:
        version = connection.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)
    for store in stores:
        store.close()


@pytest.mark.postgres
def test_a_newer_schema_on_postgresql_is_refused_and_not_touched(postgres_url: str) -> None:
    settings = load_settings(environ={"DATABASE_URL": postgres_url})
    first = Store(settings)
    first.open()
    first.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'")
    store = Store(settings)
    assert store.record_question(USER, "问题", True) is None
    with pytest.raises(FeedbackStoreError, match="newer than this bot"):
        store.totals()
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone() == ("99",)


@pytest.mark.postgres
def test_a_lost_connection_costs_one_write_and_is_opened_anew(postgres_url: str) -> None:
    store = Store(load_settings(environ={"DATABASE_URL": postgres_url}))
    assert store.record_question(USER, "第一个", True) == 1
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # the server ends the bot's session
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid != pg_backend_pid()")
    outcomes = [store.record_question(USER, f"问题{n}", True) for n in range(2)]
    assert outcomes[-1] is not None and store.failures <= 1
    assert store.totals()["questions"] == 1 + sum(o is not None for o in outcomes)
    store.close()
