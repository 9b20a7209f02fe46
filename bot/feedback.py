"""What users asked and what they thought of the answers: a small SQLite store for the staff's report.

Every question is stored (when, a hashed user id, the text, whether the bot answered, why not, which
passages it found, the words the user was shown), and each 👍/👎 press references its question row, so a
press on an old message still counts after a restart. A 👎 may carry what was wrong (a reason code and/or a
short text); ``/feedback`` comments are kept on their own. User ids are never stored: they are
HMAC-SHA256 hashed with a secret salt (setting user_id_salt, or a random salt generated once and kept next
to the database with 0600 permissions), so hashes are stable across restarts but cannot be reversed by guessing ids.

The store must never stop an answer: each public method catches database and salt errors (disk full,
read-only folder, a damaged file), logs them and returns a "nothing stored" value; the caller goes on.
A database file deleted or replaced while the bot runs is noticed on the next use and opened anew, so
writes never go to a file that is gone. A vote carries a tag (``vote_tag``) binding it to its question's
row and chat: a press from another chat, a forged id, or a row replaced by a restore is refused.
Rows older than feedback_retention_days are deleted when the store opens and again once a day.

``backup_database`` copies the database consistently while the bot writes to it (``python -m bot backup``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import FeedbackStoreError
from .normalize import normalize_query

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SALT_SUFFIX = ".salt"
_PURGE_INTERVAL = 24 * 3600.0
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC; sorts as text, and matches SQLite's datetime()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    normalized TEXT NOT NULL,
    answered INTEGER NOT NULL,
    abstain_reason TEXT NOT NULL DEFAULT '',
    passage_ids TEXT NOT NULL DEFAULT '[]',
    build_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at TEXT NOT NULL,
    PRIMARY KEY (question_id, user_hash)
);
CREATE INDEX IF NOT EXISTS feedback_voted_at ON feedback (voted_at);
"""

# Each version's statements, applied in order to bring an older database up to SCHEMA_VERSION in one
# transaction; existing rows keep their data (new columns default to empty).
_MIGRATIONS: dict[int, list[str]] = {
    1: [s.strip() for s in _SCHEMA.split(";") if s.strip()],
    2: [
        "ALTER TABLE questions ADD COLUMN shown TEXT NOT NULL DEFAULT ''",  # what the user read (lead sentence)
        "ALTER TABLE feedback ADD COLUMN reason TEXT NOT NULL DEFAULT ''",  # a DOWN_REASONS code
        "ALTER TABLE feedback ADD COLUMN reason_text TEXT NOT NULL DEFAULT ''",  # the user's own words
        "CREATE TABLE IF NOT EXISTS comments (id INTEGER PRIMARY KEY, sent_at TEXT NOT NULL, "
        "user_hash TEXT NOT NULL, text TEXT NOT NULL, build_id TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX IF NOT EXISTS comments_sent_at ON comments (sent_at)",
    ],
}

DOWN_REASONS: dict[str, str] = {  # what a user can say was wrong with a 👎 answer: code → label
    "off": "答非所问",
    "figure": "数字不对",
    "missing": "没找到",
    "other": "其他",
}



@dataclass(frozen=True)
class VoteResult:
    """Outcome of a 👍/👎 press: stored (True), or why not ('unknown' question row, 'error')."""

    stored: bool
    previous: int | None = None
    problem: str = ""


MAX_SHOWN_CHARS = 200  # of the shown text kept with a question: the report shows its start
MAX_COMMENT_CHARS = 1000  # a /feedback comment or a 👎 reason text is cut to this


_END_PUNCTUATION = "?？!！。.，,；;：:~～…、 "


def report_key(question: str) -> str:
    """What the report groups questions by: ``normalize_query`` (script, width, case, spaces) without the
    punctuation around the question, so 溫州有多少醫院 and “温州有多少医院？” count as one question."""
    return normalize_query(question).strip(_END_PUNCTUATION)


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_TIME_FORMAT)


class FeedbackStore:
    """Questions and votes in SQLite; thread-safe (one connection behind a lock), opened on first use."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.path = settings.path("feedback_db")
        self.retention_days = int(settings.feedback_retention_days)
        self._configured_salt = str(settings.user_id_salt or "")
        self._clock = clock
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._salt: bytes | None = None
        self._fallback_salt = secrets.token_bytes(32)  # only for log lines when no salt can be kept
        self._last_purge = 0.0
        self._identity: tuple[int, int] | None = None  # (device, inode) of the open database file
        self.failures = 0

    # -- opening ----------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self._connection is not None:
            if _identity(self.path) == self._identity:
                return self._connection
            gone = "deleted" if not self.path.exists() else "replaced"
            log.warning("feedback database %s was %s while the bot was using it; opening it anew", self.path, gone)
            self.close()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackStoreError(f"cannot open the feedback database {self.path}: {exc}") from exc
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("feedback database %s: WAL journal mode not available (%s)", self.path, mode)
            connection.execute("PRAGMA synchronous = NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise FeedbackStoreError(
                    f"the feedback database {self.path} has schema version {version}, newer than this bot's "
                    f"{SCHEMA_VERSION}; use a newer bot or another feedback_db")
            if version < SCHEMA_VERSION:
                self._migrate(connection)
        except sqlite3.Error as exc:
            connection.close()
            raise FeedbackStoreError(f"cannot use the feedback database {self.path}: {exc}") from exc
        except FeedbackStoreError:
            connection.close()
            raise
        self._connection = connection
        self._identity = _identity(self.path)
        self._purge_locked()
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the schema up to SCHEMA_VERSION in one transaction (a half-made schema is never left
        behind); the version is read again inside it, so two processes opening an old file at once
        migrate it once."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if version:
            log.info("feedback database %s: schema upgraded from version %d to %d", self.path, version,
                     SCHEMA_VERSION)

    def _load_salt(self) -> bytes:
        """The configured salt, else the one kept next to the database (created once, mode 0600).
        FeedbackStoreError when the salt file cannot be made or read back as the hex text it holds."""
        if self._configured_salt:
            return self._configured_salt.encode("utf-8")
        salt_path = self.salt_path
        damaged = (f"the salt file {salt_path} is damaged ({{}}); restore it from a backup, or delete it to start "
                   "a new one (stored user hashes then no longer match new ones)")
        try:
            salt_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                salt = salt_path.read_bytes().strip()
            else:
                with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(32) + "\n")
                log.info("generated a new user-id salt in %s", salt_path)
                salt = salt_path.read_bytes().strip()
        except OSError as exc:
            raise FeedbackStoreError(f"cannot use the salt file {salt_path}: {exc.strerror or exc}") from None
        if len(salt) < 32:
            raise FeedbackStoreError(damaged.format("too short"))
        if not all(c in b"0123456789abcdefABCDEF" for c in salt):
            raise FeedbackStoreError(damaged.format("not the hex digits it was written with"))
        return salt

    @property
    def salt_path(self) -> Path:
        return self.path.with_name(self.path.name + SALT_SUFFIX)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- hashing -----------------------------------------------------------------------------------
    def _key(self) -> bytes:
        if self._salt is None:
            with self._lock:
                if self._salt is None:
                    self._salt = self._load_salt()
        return self._salt

    def hash_user(self, user_id: int | str) -> str:
        """HMAC-SHA256 (hex) of the user id with the salt; FeedbackStoreError if the salt cannot be had."""
        return hmac.new(self._key(), str(user_id).encode("ascii"), hashlib.sha256).hexdigest()

    def log_hash(self, user_id: int | str) -> str:
        """A short hash for log lines: the stored hash's prefix, or a per-process one if no salt can be kept."""
        try:
            return self.hash_user(user_id)[:16]
        except (FeedbackStoreError, OSError):
            return hmac.new(self._fallback_salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    def vote_tag(self, question_id: int, chat_id: int, question: str) -> str:
        """Eight characters binding a vote button to its question row and the chat the answer went to
        (HMAC with the salt): a vote whose tag does not match is refused. Raises FeedbackStoreError."""
        message = f"{question_id}\0{chat_id}\0{question}".encode()
        return base64.urlsafe_b64encode(hmac.new(self._key(), message, hashlib.sha256).digest()[:6]).decode("ascii")

    # -- writing ------------------------------------------------------------------------------------
    def record_question(self, user_id: int, question: str, answered: bool, abstain_reason: str = "",
                        passage_ids: list[str] | None = None, build_id: str = "", shown: str = "") -> int | None:
        """Store one question; its row id (for the feedback buttons), or None if it could not be stored.
        ``shown`` is what the user read first (the quotable sentence), so the report can show it."""
        try:
            with self._lock:
                connection = self._open()
                self._maybe_purge()
                cursor = connection.execute(
                    "INSERT INTO questions (asked_at, user_hash, question, normalized, answered, abstain_reason,"
                    " passage_ids, build_id, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (_stamp(self._clock()), self.hash_user(user_id), question, report_key(question),
                     int(bool(answered)), abstain_reason, json.dumps(list(passage_ids or [])), build_id,
                     shown[:MAX_SHOWN_CHARS]))
                return int(cursor.lastrowid)
        except (FeedbackStoreError, sqlite3.Error, OSError, ValueError) as exc:
            self._failed("store a question", exc)
            return None

    def vote(self, question_id: int, user_id: int, vote: int, chat_id: int | None = None,
             tag: str | None = None) -> VoteResult:
        """Record 👍 (+1) or 👎 (-1) for a question; a user's second press replaces the first. With ``tag``
        (from ``vote_tag``), only when it matches the row's question and ``chat_id``."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        if not 0 < question_id < 2 ** 63:
            return VoteResult(False, problem="unknown")
        try:
            with self._lock:
                connection = self._open()
                row = connection.execute("SELECT question FROM questions WHERE id = ?", (question_id,)).fetchone()
                if row is None:
                    return VoteResult(False, problem="unknown")
                if tag is not None and not hmac.compare_digest(
                        tag, self.vote_tag(question_id, chat_id if chat_id is not None else 0, row[0])):
                    return VoteResult(False, problem="unknown")
                user_hash = self.hash_user(user_id)
                row = connection.execute("SELECT vote FROM feedback WHERE question_id = ? AND user_hash = ?",
                                         (question_id, user_hash)).fetchone()
                connection.execute(
                    "INSERT INTO feedback (question_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote, "
                    "voted_at = excluded.voted_at",
                    (question_id, user_hash, vote, _stamp(self._clock())))
                return VoteResult(True, previous=row[0] if row else None)
        except (FeedbackStoreError, sqlite3.Error, OSError, ValueError) as exc:
            self._failed("store a vote", exc)
            return VoteResult(False, problem="error")

    def explain_vote(self, question_id: int, user_id: int, reason: str = "", text: str = "") -> bool:
        """Say what was wrong with an answer the user voted 👎: a DOWN_REASONS code and/or their own words
        (each replaces an earlier one, an empty one keeps it). False if there is no such 👎 or on a failure."""
        if reason and reason not in DOWN_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        try:
            with self._lock:
                connection = self._open()
                cursor = connection.execute(
                    "UPDATE feedback SET reason = CASE WHEN ? = '' THEN reason ELSE ? END, "
                    "reason_text = CASE WHEN ? = '' THEN reason_text ELSE ? END "
                    "WHERE question_id = ? AND user_hash = ? AND vote = -1",
                    (reason, reason, text, text[:MAX_COMMENT_CHARS], question_id, self.hash_user(user_id)))
                return cursor.rowcount > 0
        except (FeedbackStoreError, sqlite3.Error, OSError) as exc:
            self._failed("store what was wrong with an answer", exc)
            return False

    def add_comment(self, user_id: int, text: str, build_id: str = "") -> bool:
        """Store a free comment (``/feedback …``); False if it could not be stored."""
        try:
            with self._lock:
                connection = self._open()
                self._maybe_purge()
                connection.execute("INSERT INTO comments (sent_at, user_hash, text, build_id) VALUES (?, ?, ?, ?)",
                                   (_stamp(self._clock()), self.hash_user(user_id), text[:MAX_COMMENT_CHARS],
                                    build_id))
                return True
        except (FeedbackStoreError, sqlite3.Error, OSError) as exc:
            self._failed("store a comment", exc)
            return False

    def purge(self) -> int:
        """Delete questions (and their votes) and votes older than the retention period; rows deleted."""
        try:
            with self._lock:
                self._open()
                return self._purge_locked()
        except (FeedbackStoreError, sqlite3.Error, OSError) as exc:
            self._failed("delete old rows", exc)
            return 0

    def _maybe_purge(self) -> None:
        if self._clock() - self._last_purge >= _PURGE_INTERVAL:
            self._purge_locked()

    def _purge_locked(self) -> int:
        self._last_purge = self._clock()
        if self.retention_days <= 0 or self._connection is None:
            return 0
        cutoff = _stamp(self._clock() - self.retention_days * 86400)
        connection = self._connection
        connection.execute("BEGIN")
        try:
            votes = connection.execute(
                "DELETE FROM feedback WHERE voted_at < ? OR question_id IN "
                "(SELECT id FROM questions WHERE asked_at < ?)", (cutoff, cutoff)).rowcount
            questions = connection.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            comments = connection.execute("DELETE FROM comments WHERE sent_at < ?", (cutoff,)).rowcount
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if votes or questions or comments:
            log.info("feedback retention: deleted %d questions, %d votes and %d comments older than %d days",
                     questions, votes, comments, self.retention_days)
        return votes + questions + comments

    def _failed(self, action: str, exc: BaseException) -> None:
        self.failures += 1
        # the first failure with its traceback, later ones in one line (a broken disk fails every time)
        log.error("feedback store: could not %s in %s: %s", action, self.path, exc, exc_info=self.failures == 1)
        if isinstance(exc, sqlite3.DatabaseError) and self._connection is not None:
            self.close()  # reopen next time: the file may have been repaired or replaced

    # -- reading ------------------------------------------------------------------------------------
    def totals(self, since: str = "") -> dict[str, Any]:
        """Questions, answered, abstained and 👍/👎 counts (since a UTC 'YYYY-MM-DD HH:MM:SS', or all)."""
        with self._lock:
            connection = self._open()
            asked, answered = connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM questions WHERE asked_at >= ?",
                (since,)).fetchone()
            up, down = connection.execute(
                "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM feedback WHERE voted_at >= ?",
                (since,)).fetchone()
        return {"questions": asked, "answered": answered, "abstained": asked - answered,
                "answered_share": round(answered / asked, 4) if asked else None, "up": up, "down": down}

    def report(self, days: int = 0, limit: int = 20) -> dict[str, Any]:
        """Unanswered and down-voted questions grouped by normalized text, most frequent first, with totals."""
        since = _stamp(self._clock() - days * 86400) if days > 0 else ""
        with self._lock:
            connection = self._open()
            unanswered = connection.execute(
                "SELECT normalized, COUNT(*) AS n, MAX(asked_at) AS last, abstain_reason, "
                " (SELECT q2.question FROM questions q2 WHERE q2.normalized = q.normalized AND q2.answered = 0"
                "  ORDER BY q2.asked_at DESC, q2.id DESC LIMIT 1) "
                "FROM questions q WHERE answered = 0 AND asked_at >= ? "
                "GROUP BY normalized ORDER BY n DESC, last DESC LIMIT ?", (since, limit)).fetchall()
            downvoted = connection.execute(
                "SELECT q.normalized, SUM(f.vote = -1) AS down, SUM(f.vote = 1) AS up, MAX(q.asked_at) AS last, "
                " (SELECT q2.question FROM questions q2 WHERE q2.normalized = q.normalized"
                "  ORDER BY q2.asked_at DESC, q2.id DESC LIMIT 1), "
                " '[' || GROUP_CONCAT(DISTINCT q.passage_ids) || ']', "
                " (SELECT q3.shown FROM questions q3 WHERE q3.normalized = q.normalized AND q3.shown != ''"
                "  ORDER BY q3.asked_at DESC, q3.id DESC LIMIT 1) "
                "FROM feedback f JOIN questions q ON q.id = f.question_id "
                "WHERE f.voted_at >= ? GROUP BY q.normalized HAVING down > 0 "
                "ORDER BY down DESC, last DESC LIMIT ?", (since, limit)).fetchall()
            reasons = connection.execute(
                "SELECT q.normalized, f.reason, f.reason_text FROM feedback f JOIN questions q ON q.id = f.question_id "
                "WHERE f.voted_at >= ? AND f.vote = -1 AND (f.reason != '' OR f.reason_text != '') "
                "ORDER BY f.voted_at DESC", (since,)).fetchall()
            comments = connection.execute(
                "SELECT sent_at, text FROM comments WHERE sent_at >= ? ORDER BY sent_at DESC, id DESC LIMIT ?",
                (since, limit)).fetchall()
        why: dict[str, list[dict[str, str]]] = {}
        for normalized, reason, text in reasons:
            why.setdefault(normalized, []).append({"reason": reason, "text": text})
        return {
            "days": days,
            "since": since or None,
            "totals": self.totals(since),
            "unanswered": [{"question": example, "normalized": normalized, "count": n, "last_asked": last,
                            "reason": reason} for normalized, n, last, reason, example in unanswered],
            "downvoted": [{"question": example, "normalized": normalized, "down": down, "up": up,
                           "last_asked": last, "shown": shown or "", "passages": _passage_ids(passages),
                           "reasons": why.get(normalized, [])}
                          for normalized, down, up, last, example, passages, shown in downvoted],
            "comments": [{"sent_at": sent_at, "text": text} for sent_at, text in comments],
        }


def backup_database(source: Path, destination: Path, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Copy the feedback database at ``source`` to ``destination`` while the bot may be writing to it.

    SQLite's online backup copies every page within one read transaction: the copy holds exactly the
    transactions committed when it started (WAL mode lets the bot keep writing meanwhile). The copy is one
    self-contained file (journal mode DELETE, no -wal/-shm beside it), written under a temporary name,
    checked with ``PRAGMA integrity_check`` and only then renamed to ``destination``; if ``destination`` is
    a folder, the file is ``feedback-<UTC time>.sqlite3`` in it. The salt file the user hashes depend on
    (``<database>.salt``, when no user_id_salt is configured) is copied next to it, mode 0600.
    Returns where the copy went, its row counts and size. Raises FeedbackStoreError.
    """
    if not source.is_file():
        raise FeedbackStoreError(f"no feedback database at {source}")
    if destination.is_dir():
        stamp = datetime.fromtimestamp(clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        destination = destination / f"feedback-{stamp}.sqlite3"
    for target in (destination, destination.with_name(destination.name + SALT_SUFFIX)):
        _refuse_clobbering(source, target)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=10.0)
        try:
            copy = sqlite3.connect(temporary)
            try:
                reader.backup(copy)  # all pages in one step: one consistent snapshot
                copy.execute("PRAGMA journal_mode = DELETE")
                check = copy.execute("PRAGMA integrity_check").fetchall()
                if check != [("ok",)]:
                    raise FeedbackStoreError(f"the copy of {source} failed its integrity check: {check[:5]}")
                questions = copy.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
                votes = copy.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
            finally:
                copy.close()
        finally:
            reader.close()
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, destination)
    except sqlite3.Error as exc:
        raise FeedbackStoreError(f"cannot back up the feedback database {source}: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    salt = source.with_name(source.name + SALT_SUFFIX)
    salt_copy = None
    if salt.is_file():
        salt_copy = destination.with_name(destination.name + SALT_SUFFIX)
        descriptor = os.open(salt_copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(salt.read_bytes())
        os.chmod(salt_copy, 0o600)
    return {"path": destination, "questions": questions, "votes": votes, "bytes": destination.stat().st_size,
            "salt": salt_copy}


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _refuse_clobbering(source: Path, target: Path) -> None:
    """FeedbackStoreError if writing ``target`` would destroy the database, its WAL, shared memory or salt,
    or any file already in the database's folder (the bot's data)."""
    database = source.resolve()
    own = {database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal", SALT_SUFFIX)}
    resolved = target.resolve()
    if resolved in own:
        raise FeedbackStoreError(f"refusing to back up onto {target}: it is one of the feedback database's own "
                                 "files; give a new file name or another folder")
    if resolved.parent == database.parent and (target.exists() or target.is_symlink()):
        raise FeedbackStoreError(f"refusing to overwrite {target} in the bot's data folder; give a new file "
                                 "name or another folder")


def _passage_ids(lists: str | None) -> list[str]:
    """Passage ids from a JSON list of JSON lists (GROUP_CONCAT of the rows' lists), first seen first."""
    try:
        groups = json.loads(lists or "[]")
    except ValueError:
        return []
    return list(dict.fromkeys(str(i) for group in groups if isinstance(group, list) for i in group))


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to ``width`` terminal columns (Chinese characters and emoji take two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    padding = " " * max(0, width - columns)
    return padding + text if right else text + padding


def format_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal: totals, then the two lists."""
    totals = report["totals"]
    period = f"最近 {report['days']} 天" if report["days"] else "全部记录"
    share = f"{totals['answered_share']:.0%}" if totals["answered_share"] is not None else "—"
    lines = [
        f"问答反馈报告（{period}）",
        f"问题 {totals['questions']} 个，已回答 {totals['answered']}（{share}），未回答 {totals['abstained']}；"
        f"👍 {totals['up']}  👎 {totals['down']}",
        "",
        "未回答的问题（最常见的在前）：",
    ]
    if report["unanswered"]:
        lines.append(f"  {_pad('次数', 6, right=True)}  {_pad('最近提问 (UTC)', 19)}  问题")
        for row in report["unanswered"]:
            reason = "（文中无此数字）" if row["reason"] == "no_figure" else ""
            lines.append(f"  {_pad(str(row['count']), 6, right=True)}  {_pad(row['last_asked'], 19)}  "
                         f"{row['question'].strip()}{reason}")
    else:
        lines.append("  （没有）")
    lines += ["", "被点 👎 的问题（最多的在前）："]
    if report["downvoted"]:
        lines.append(f"  {_pad('👎', 4, right=True)}  {_pad('👍', 4, right=True)}  {_pad('最近提问 (UTC)', 19)}  "
                     "问题 → 回答（旧记录：段落）")
        for row in report["downvoted"]:
            shown = f"“{_excerpt(row['shown'])}”" if row.get("shown") else "、".join(row["passages"]) or "—"
            lines.append(f"  {_pad(str(row['down']), 4, right=True)}  {_pad(str(row['up']), 4, right=True)}  "
                         f"{_pad(row['last_asked'], 19)}  {row['question'].strip()} → {shown}")
            for why in row.get("reasons", []):
                said = " · ".join(part for part in (DOWN_REASONS.get(why["reason"], ""), why["text"].strip()) if part)
                lines.append(f"  {'':28}  哪里不对：{said}")
    else:
        lines.append("  （没有）")
    lines += ["", "留言（/feedback，最新的在前）："]
    if report.get("comments"):
        lines += [f"  {_pad(c['sent_at'], 19)}  {' '.join(c['text'].split())}" for c in report["comments"]]
    else:
        lines.append("  （没有）")
    return "\n".join(lines)


def _excerpt(text: str, limit: int = 60) -> str:
    """The first words of a shown answer, on one line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
