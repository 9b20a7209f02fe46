"""Where the store's rows live: an SQLite file (the embedded default) or a PostgreSQL server (setting
database_url, for several replicas), behind one small interface so every query is written once.

Queries use ``?`` placeholders and SQL both systems read alike; a backend translates the placeholders and
supplies the few pieces that differ: how the schema version is kept, how a write transaction excludes other
writers, how distinct texts are joined, how rows are locked for an update, where the user-id salt is kept.
The schema is the same on both (the one migration list below): text times in UTC, integer flags, JSON text.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..config import Settings
from ..errors import ConfigError, FeedbackStoreError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
SALT_SUFFIX = ".salt"
POSTGRES_SCHEMES = ("postgresql", "postgres")

# Each version's statements, applied in order in one transaction to bring a database up to SCHEMA_VERSION;
# existing rows keep their data (new columns default to empty). ``{id}`` is the backend's auto-numbered key.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS questions (id {id}, asked_at TEXT NOT NULL, user_hash TEXT NOT NULL, "
        "question TEXT NOT NULL, normalized TEXT NOT NULL, answered INTEGER NOT NULL, "
        "abstain_reason TEXT NOT NULL DEFAULT '', passage_ids TEXT NOT NULL DEFAULT '[]', "
        "build_id TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at)",
        "CREATE TABLE IF NOT EXISTS feedback (question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE, "
        "user_hash TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at TEXT NOT NULL, "
        "PRIMARY KEY (question_id, user_hash))",
        "CREATE INDEX IF NOT EXISTS feedback_voted_at ON feedback (voted_at)",
    ],
    2: [
        "ALTER TABLE questions ADD COLUMN shown TEXT NOT NULL DEFAULT ''",  # what the user read (lead sentence)
        "ALTER TABLE feedback ADD COLUMN reason TEXT NOT NULL DEFAULT ''",  # a DOWN_REASONS code
        "ALTER TABLE feedback ADD COLUMN reason_text TEXT NOT NULL DEFAULT ''",  # the user's own words
        "CREATE TABLE IF NOT EXISTS comments (id {id}, sent_at TEXT NOT NULL, "
        "user_hash TEXT NOT NULL, text TEXT NOT NULL, build_id TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX IF NOT EXISTS comments_sent_at ON comments (sent_at)",
    ],
    3: [
        # each chat's memory (python-telegram-bot's chat_data) as JSON, under a hashed chat key
        "CREATE TABLE IF NOT EXISTS chat_memory (chat_key TEXT PRIMARY KEY, data TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS chat_memory_updated_at ON chat_memory (updated_at)",
        # which message is the "what was wrong?" prompt for which question, so any replica matches a reply
        "CREATE TABLE IF NOT EXISTS why_prompts (chat_key TEXT NOT NULL, message_id BIGINT NOT NULL, "
        "question_id BIGINT NOT NULL, prompted_at TEXT NOT NULL, PRIMARY KEY (chat_key, message_id))",
        "CREATE INDEX IF NOT EXISTS why_prompts_prompted_at ON why_prompts (prompted_at)",
        # per-user sliding windows of the rate limits (event times as a JSON list of seconds)
        "CREATE TABLE IF NOT EXISTS rate_windows (scope TEXT NOT NULL, user_hash TEXT NOT NULL, times TEXT NOT NULL, "
        "told_at DOUBLE PRECISION, expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (scope, user_hash))",
        "CREATE INDEX IF NOT EXISTS rate_windows_expires_at ON rate_windows (expires_at)",
    ],
    4: [
        # staff's review of an unanswered or 👎 question (/review, `pin`): pinned, or none fits (a content gap)
        "CREATE TABLE IF NOT EXISTS reviews (normalized TEXT PRIMARY KEY, question TEXT NOT NULL, "
        "outcome TEXT NOT NULL, passage_id TEXT NOT NULL DEFAULT '', reviewed_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS reviews_reviewed_at ON reviews (reviewed_at)",
    ],
}


class Cursor(Protocol):
    """What both drivers' cursors offer and the store uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(ABC):
    """One connection to the store's database, opened on demand. Not thread-safe: the Store holds a lock."""

    where: str  # for messages: the file, or the server without its password
    identity: str  # column definition of an auto-numbered primary key
    lock_rows: str  # appended to a SELECT whose rows the transaction will update

    @property
    @abstractmethod
    def errors(self) -> tuple[type[Exception], ...]:
        """The driver's exceptions (a failed query, a lost connection)."""

    @abstractmethod
    def _connect(self) -> None: ...

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any]) -> Cursor: ...

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (batched by the driver: one round trip per batch, not per row)."""

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction, exclusive against other writers where the rows it locks are concerned."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def stale(self) -> str | None:
        """Why the open connection must be replaced (file deleted or replaced, connection lost), or None."""

    @abstractmethod
    def broken_by(self, exc: BaseException) -> bool:
        """Whether the connection should be reopened after ``exc`` (the file or server may have been fixed)."""

    @abstractmethod
    def kept_salt(self) -> bytes:
        """The user-id salt kept with the store (created once); FeedbackStoreError when it cannot be had."""

    @abstractmethod
    def joined_texts(self, column: str) -> str:
        """SQL for the distinct values of ``column`` in a group, joined with commas."""

    @abstractmethod
    def _schema_version(self) -> int: ...

    @abstractmethod
    def _set_schema_version(self, version: int) -> None: ...

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    def _lock_schema(self) -> None:
        """Inside the migration transaction: keep other processes from migrating at the same time."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._execute(sql, params)

    def open(self) -> None:
        """Connect and bring the schema up to SCHEMA_VERSION; FeedbackStoreError when that cannot be done."""
        self._connect()
        try:
            if self._schema_version() != SCHEMA_VERSION:
                self._migrate()
        except FeedbackStoreError:
            self.close()
            raise
        except self.errors as exc:
            self.close()
            raise FeedbackStoreError(f"cannot use the store {self.where}: {self.scrub(str(exc))}") from exc

    def _migrate(self) -> None:
        """All steps in one transaction (a half-made schema is never left behind); the version is read again
        inside it, so two processes opening an old database at once migrate it once."""
        with self.transaction():
            self._lock_schema()
            version = self._schema_version()
            if version > SCHEMA_VERSION:
                raise FeedbackStoreError(
                    f"the store {self.where} has schema version {version}, newer than this bot's {SCHEMA_VERSION}; "
                    "use a newer bot or another database")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    self.execute(statement.replace("{id}", self.identity))
            if version < SCHEMA_VERSION:
                self._set_schema_version(SCHEMA_VERSION)
        if 0 < version < SCHEMA_VERSION:
            log.info("store %s: schema upgraded from version %d to %d", self.where, version, SCHEMA_VERSION)

    def scrub(self, text: str) -> str:
        """A driver's message for one log or error line: on one line, without anything secret the database's
        address holds."""
        return " ".join(self._hide(text).split())

    def _hide(self, text: str) -> str:
        return text


class SQLiteDatabase(Database):
    """The embedded default: one file in WAL mode (readers never wait for the writer), its salt file beside it."""

    identity = "INTEGER PRIMARY KEY"
    lock_rows = ""  # BEGIN IMMEDIATE already keeps every other writer out

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.where = str(path)
        self.timeout = timeout
        self._connection: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the open file

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error,)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def salt_path(self) -> Path:
        return self.path.with_name(self.path.name + SALT_SUFFIX)

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False,
                                         isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackStoreError(f"cannot open the feedback database {self.path}: {exc}") from exc
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            mode = self._wal(connection)
            if str(mode).lower() != "wal":
                log.warning("feedback database %s: WAL journal mode not available (%s)", self.path, mode)
            connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            connection.close()
            raise FeedbackStoreError(f"cannot use the feedback database {self.path}: {exc}") from exc
        self._connection = connection
        self._identity = _file_identity(self.path)

    def _wal(self, connection: sqlite3.Connection) -> str:
        """Switch a new file to WAL mode (kept in the file: later opens only read it). Switching needs the file
        to itself, and SQLite answers "locked" at once rather than waiting when processes open a new file
        together, so it is tried again until store_timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0])
            if mode.lower() == "wal":
                return mode
            try:
                return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        if self._connection is None:
            raise FeedbackStoreError(f"the feedback database {self.path} is not open")
        return self._connection.execute(sql, params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._connection is None:
            raise FeedbackStoreError(f"the feedback database {self.path} is not open")
        self._connection.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stale(self) -> str | None:
        if self._connection is None or _file_identity(self.path) == self._identity:
            return None
        return "deleted" if not self.path.exists() else "replaced"

    def broken_by(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.DatabaseError)

    def _lock_schema(self) -> None:
        """Nothing more: BEGIN IMMEDIATE has taken the file's write lock."""

    def _schema_version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def _set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def joined_texts(self, column: str) -> str:
        return f"GROUP_CONCAT(DISTINCT {column})"

    def kept_salt(self) -> bytes:
        """The salt file next to the database (created once, mode 0600); the file is read without opening the
        database, so hashing works before (and whatever) the database holds."""
        salt_path = self.salt_path
        damaged = (f"the salt file {salt_path} is damaged ({{}}); restore it from a backup, or delete it to start "
                   "a new one (stored user hashes then no longer match new ones)")
        try:
            if not salt_path.exists():
                self._create_salt(salt_path)
            salt = salt_path.read_bytes().strip()
        except OSError as exc:
            raise FeedbackStoreError(f"cannot use the salt file {salt_path}: {exc.strerror or exc}") from None
        if len(salt) < 32:
            raise FeedbackStoreError(damaged.format("too short"))
        if not all(c in b"0123456789abcdefABCDEF" for c in salt):
            raise FeedbackStoreError(damaged.format("not the hex digits it was written with"))
        return salt


    @staticmethod
    def _create_salt(salt_path: Path) -> None:
        """Write a new salt under a temporary name, then link it in place: the salt file appears whole or not
        at all, and when processes starting together race, the first link wins and the others read it."""
        salt_path.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own per caller: threads of one process racing here must not share (and unlink) one file
        temporary = salt_path.with_name(f".{salt_path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(temporary, salt_path)
            log.info("generated a new user-id salt in %s", salt_path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)


class PostgresDatabase(Database):
    """A PostgreSQL server shared by several replicas (psycopg 3, autocommit outside explicit transactions).

    The URL may hold a password: messages name the server as ``postgresql://user@host:port/db`` and every
    driver message passes through ``scrub``. The salt is kept in the database (table store_meta), so all
    replicas hash alike; set user_id_salt to keep it out of the database and its dumps.
    """

    identity = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    lock_rows = " FOR UPDATE"
    _SCHEMA_LOCK = 7_301_984_019  # the advisory lock migrations take (any number other programs don't use)

    def __init__(self, url: str, timeout: float) -> None:
        import psycopg  # only when a PostgreSQL server is configured

        self._psycopg = psycopg
        self.url = url
        self.where = describe_url(url)
        self.timeout = timeout
        parts = urlsplit(url)
        self._hidden = [s for s in (parts.password, unquote(parts.password or ""), url) if s]
        self._connection: psycopg.Connection[Any] | None = None

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (self._psycopg.Error,)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    def _hide(self, text: str) -> str:
        for secret in sorted(self._hidden, key=len, reverse=True):
            text = text.replace(secret, "[REDACTED]")
        return text

    def _connect(self) -> None:
        psycopg = self._psycopg
        try:
            self._connection = psycopg.connect(self.url, autocommit=True,
                                               connect_timeout=max(1, math.ceil(self.timeout)))
            self._connection.execute(f"SET lock_timeout = {max(1, round(self.timeout * 1000))}")
        except psycopg.Error as exc:
            self.close()
            raise FeedbackStoreError(f"cannot connect to the store {self.where}: "
                                     f"{self.scrub(str(exc))}") from None

    def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        if self._connection is None:
            raise FeedbackStoreError(f"the store {self.where} is not connected")
        return self._connection.execute(sql.replace("?", "%s"), tuple(params) or None)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._connection is None:
            raise FeedbackStoreError(f"the store {self.where} is not connected")
        with self._connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._connection is None:
            raise FeedbackStoreError(f"the store {self.where} is not connected")
        with self._connection.transaction():
            yield

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def stale(self) -> str | None:
        if self._connection is None:
            return None
        return "lost" if self._connection.closed or self._connection.broken else None

    def broken_by(self, exc: BaseException) -> bool:
        return isinstance(exc, (self._psycopg.OperationalError, self._psycopg.InterfaceError))

    def _lock_schema(self) -> None:
        self.execute(f"SELECT pg_advisory_xact_lock({self._SCHEMA_LOCK})")
        self.execute("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _schema_version(self) -> int:
        if self.execute("SELECT to_regclass('store_meta')").fetchone()[0] is None:
            return 0
        row = self.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _set_schema_version(self, version: int) -> None:
        self.execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value", (str(version),))

    def joined_texts(self, column: str) -> str:
        return f"string_agg(DISTINCT {column}, ',')"

    def kept_salt(self) -> bytes:
        """The salt row of store_meta, made by the first replica that needs it (the others read that one)."""
        try:
            self.execute("INSERT INTO store_meta (key, value) VALUES ('user_id_salt', ?) ON CONFLICT (key) DO NOTHING",
                         (secrets.token_hex(32),))
            row = self.execute("SELECT value FROM store_meta WHERE key = 'user_id_salt'").fetchone()
        except self._psycopg.Error as exc:
            raise FeedbackStoreError(f"cannot read the user-id salt from {self.where}: "
                                     f"{self.scrub(str(exc))}") from None
        salt = str(row[0]).encode("ascii") if row else b""
        if len(salt) < 32:
            raise FeedbackStoreError(f"the user-id salt in {self.where} (table store_meta) is damaged")
        return salt


def database_for(settings: Settings) -> Database:
    """PostgreSQL when database_url is set, else the SQLite file feedback_db."""
    url = str(settings.database_url or "").strip()
    timeout = float(settings.store_timeout)
    if not url:
        return SQLiteDatabase(settings.path("feedback_db"), timeout)
    if urlsplit(url).scheme.lower() not in POSTGRES_SCHEMES:
        raise ConfigError("database_url ($DATABASE_URL or $BOT_DATABASE_URL) must be a postgresql:// URL "
                          "(postgresql://user:password@host:5432/database); leave it unset for the SQLite file "
                          "feedback_db")
    return PostgresDatabase(url, timeout)


def describe_url(url: str) -> str:
    """A PostgreSQL URL as it may appear in messages: no password, no parameters."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
