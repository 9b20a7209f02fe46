"""The bot's store: what users asked and thought of the answers, each chat's memory, the 👎 prompts and the
per-user rate windows, in one database (SQLite by default, PostgreSQL for replicas: ``database``).

Every question is stored (when, a hashed user id, the text, whether the bot answered, why not, which
passages it found, the words the user was shown), and each 👍/👎 press references its question row, so a
press on an old message still counts after a restart. A 👎 may carry what was wrong (a reason code and/or a
short text); ``/feedback`` comments are kept on their own. User and chat ids are never stored: they are
HMAC-SHA256 hashed with a secret salt (setting user_id_salt, else one generated once and kept with the
database), so hashes are stable across restarts and replicas but cannot be reversed by guessing ids.

The store must never stop an answer: the feedback methods catch database and salt errors (disk full,
read-only folder, a damaged file, a server gone), log them and return a "nothing stored" value; the caller
goes on. The chat-memory methods raise FeedbackStoreError instead, for the persistence to decide (it logs
once and keeps memory in the process). A database file deleted or replaced while the bot runs, or a lost
server connection, is noticed on the next use and opened anew. A vote carries a tag (``vote_tag``) binding
it to its question's row and chat: a press from another chat, a forged id, or a row replaced by a restore is
refused. Rows older than feedback_retention_days (chat memory and prompts: conversation_retention_days) are
deleted when the store opens and again once a day.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import FeedbackStoreError
from ..normalize import normalize_query
from .database import SALT_SUFFIX, Database, SQLiteDatabase, database_for
from .limits import Decision, decide

log = logging.getLogger(__name__)

_PURGE_INTERVAL = 24 * 3600.0
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC; sorts as text, and matches SQLite's datetime()

DOWN_REASONS: dict[str, str] = {  # what a user can say was wrong with a 👎 answer: code → label
    "off": "答非所问",
    "figure": "数字不对",
    "missing": "没找到",
    "other": "其他",
}

PINNED, NONE_FITS = "pinned", "none_fits"  # a review's outcomes: a pin was made; no passage answers (a content gap)
REVIEW_OUTCOMES = (PINNED, NONE_FITS)
MAX_SHOWN_CHARS = 200  # of the shown text kept with a question: the report shows its start
MAX_COMMENT_CHARS = 1000  # a /feedback comment or a 👎 reason text is cut to this

_END_PUNCTUATION = "?？!！。.，,；;：:~～…、 "


@dataclass(frozen=True)
class VoteResult:
    """Outcome of a 👍/👎 press: stored (True), or why not ('unknown' question row, 'error')."""

    stored: bool
    previous: int | None = None
    problem: str = ""


def report_key(question: str) -> str:
    """What the report groups questions by: ``normalize_query`` (script, width, case, spaces) without the
    punctuation around the question, so 溫州有多少醫院 and “温州有多少医院？” count as one question."""
    return normalize_query(question).strip(_END_PUNCTUATION)


def stamp(seconds: float) -> str:
    """A UTC time as the store keeps it."""
    return datetime.fromtimestamp(seconds, UTC).strftime(_TIME_FORMAT)


class Store:
    """The store over one Database; thread-safe (one connection behind a lock), opened on first use."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.path = settings.path("feedback_db")  # the SQLite file (unused when database_url is set)
        self.database: Database = database_for(settings)
        self.retention_days = int(settings.feedback_retention_days)
        self.memory_retention = float(settings.conversation_retention_days) * 86400
        self._configured_salt = str(settings.user_id_salt or "")
        self._clock = clock
        self._lock = threading.RLock()
        self._salt: bytes | None = None
        self._fallback_salt = secrets.token_bytes(32)  # only for log lines when no salt can be had
        self._last_purge = 0.0
        self._errors: tuple[type[Exception], ...] = (FeedbackStoreError, OSError, ValueError, *self.database.errors)
        self.failures = 0

    @property
    def where(self) -> str:
        """The database for messages (never with a password)."""
        return self.database.where

    @property
    def salt_path(self) -> Path:
        """The SQLite store's salt file (PostgreSQL keeps its salt in the database)."""
        return self.path.with_name(self.path.name + SALT_SUFFIX)

    # -- opening ----------------------------------------------------------------------------------
    def _open(self) -> Database:
        database = self.database
        if database.is_open:
            gone = database.stale()
            if gone is None:
                return database
            log.warning("store %s was %s while the bot was using it; opening it anew", self.where, gone)
            database.close()
        database.open()
        self._purge_locked()
        return database

    @contextlib.contextmanager
    def _session(self, action: str) -> Iterator[Database]:
        """The open database under the lock; any failure becomes one FeedbackStoreError saying what could not
        be done, and a broken connection is closed so the next use opens it anew."""
        with self._lock:
            try:
                yield self._open()
            except self._errors as exc:
                if self.database.broken_by(exc):
                    self.database.close()
                raise FeedbackStoreError(f"could not {action} in {self.where}: "
                                         f"{self.database.scrub(str(exc))}") from exc

    def _failed(self, exc: FeedbackStoreError) -> None:
        self.failures += 1
        # the first failure with its traceback, later ones in one line (a broken disk fails every time)
        log.error("feedback store: %s", exc, exc_info=self.failures == 1)

    def open(self) -> None:
        """Open the database now (at start-up, so a store that cannot be used is reported at once)."""
        with self._session("open the store"):
            pass

    def close(self) -> None:
        with self._lock:
            self.database.close()

    # -- hashing -----------------------------------------------------------------------------------
    def _key(self) -> bytes:
        if self._salt is None:
            with self._lock:
                if self._configured_salt:
                    self._salt = self._configured_salt.encode("utf-8")
                elif self._salt is None:
                    # the SQLite salt file is read without opening the database; PostgreSQL keeps it inside
                    self._salt = (self.database if isinstance(self.database, SQLiteDatabase)
                                  else self._open()).kept_salt()
        return self._salt

    def _hash(self, kind: bytes, value: int | str) -> str:
        return hmac.new(self._key(), kind + str(value).encode("ascii"), hashlib.sha256).hexdigest()

    def hash_user(self, user_id: int | str) -> str:
        """HMAC-SHA256 (hex) of the user id with the salt; FeedbackStoreError if the salt cannot be had."""
        return self._hash(b"", user_id)

    def hash_chat(self, chat_id: int) -> str:
        """The key of a chat's memory and prompts: like a user's hash, in a domain of its own, so a private
        chat's key (its id is the user's) cannot be matched with the user's questions."""
        return self._hash(b"chat\0", chat_id)

    def log_hash(self, user_id: int | str) -> str:
        """A short hash for log lines: the stored hash's prefix, or a per-process one if no salt can be had."""
        try:
            return self.hash_user(user_id)[:16]
        except self._errors:
            return hmac.new(self._fallback_salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    def vote_tag(self, question_id: int, chat_id: int, question: str) -> str:
        """Eight characters binding a vote button to its question row and the chat the answer went to
        (HMAC with the salt): a vote whose tag does not match is refused. Raises FeedbackStoreError."""
        message = f"{question_id}\0{chat_id}\0{question}".encode()
        return base64.urlsafe_b64encode(hmac.new(self._key(), message, hashlib.sha256).digest()[:6]).decode("ascii")

    # -- feedback: writing ---------------------------------------------------------------------------
    def record_question(self, user_id: int, question: str, answered: bool, abstain_reason: str = "",
                        passage_ids: list[str] | None = None, build_id: str = "", shown: str = "") -> int | None:
        """Store one question; its row id (for the feedback buttons), or None if it could not be stored.
        ``shown`` is what the user read first (the quotable sentence), so the report can show it."""
        try:
            with self._session("store a question") as database:
                self._maybe_purge()
                row = database.execute(
                    "INSERT INTO questions (asked_at, user_hash, question, normalized, answered, abstain_reason,"
                    " passage_ids, build_id, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (stamp(self._clock()), self.hash_user(user_id), question, report_key(question),
                     int(bool(answered)), abstain_reason, json.dumps(list(passage_ids or [])), build_id,
                     shown[:MAX_SHOWN_CHARS])).fetchone()
                return int(row[0])
        except FeedbackStoreError as exc:
            self._failed(exc)
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
            with self._session("store a vote") as database:
                row = database.execute("SELECT question FROM questions WHERE id = ?", (question_id,)).fetchone()
                if row is None:
                    return VoteResult(False, problem="unknown")
                if tag is not None and not hmac.compare_digest(
                        tag, self.vote_tag(question_id, chat_id if chat_id is not None else 0, row[0])):
                    return VoteResult(False, problem="unknown")
                user_hash = self.hash_user(user_id)
                row = database.execute("SELECT vote FROM feedback WHERE question_id = ? AND user_hash = ?",
                                       (question_id, user_hash)).fetchone()
                database.execute(
                    "INSERT INTO feedback (question_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote, "
                    "voted_at = excluded.voted_at",
                    (question_id, user_hash, vote, stamp(self._clock())))
                return VoteResult(True, previous=row[0] if row else None)
        except FeedbackStoreError as exc:
            self._failed(exc)
            return VoteResult(False, problem="error")

    def explain_vote(self, question_id: int, user_id: int, reason: str = "", text: str = "") -> bool:
        """Attach what was wrong to the user's 👎 on a question: a DOWN_REASONS code and/or their own words
        (a later reason replaces an earlier one, an empty one keeps it). False if there is no such 👎 or on a
        failure."""
        if reason and reason not in DOWN_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        try:
            with self._session("store what was wrong with an answer") as database:
                cursor = database.execute(
                    "UPDATE feedback SET reason = CASE WHEN ? = '' THEN reason ELSE ? END, "
                    "reason_text = CASE WHEN ? = '' THEN reason_text ELSE ? END "
                    "WHERE question_id = ? AND user_hash = ? AND vote = -1",
                    (reason, reason, text, text[:MAX_COMMENT_CHARS], question_id, self.hash_user(user_id)))
                return cursor.rowcount > 0
        except FeedbackStoreError as exc:
            self._failed(exc)
            return False

    def add_comment(self, user_id: int, text: str, build_id: str = "") -> bool:
        """Store a free comment (``/feedback …``); False if it could not be stored."""
        try:
            with self._session("store a comment") as database:
                self._maybe_purge()
                database.execute("INSERT INTO comments (sent_at, user_hash, text, build_id) VALUES (?, ?, ?, ?)",
                                 (stamp(self._clock()), self.hash_user(user_id), text[:MAX_COMMENT_CHARS],
                                  build_id))
                return True
        except FeedbackStoreError as exc:
            self._failed(exc)
            return False

    # -- the 👎 prompts -------------------------------------------------------------------------------
    def remember_prompt(self, chat_id: int, message_id: int, question_id: int, keep: int) -> bool:
        """Remember that message ``message_id`` of the chat asks what was wrong with ``question_id``; the
        chat's ``keep`` latest prompts are kept. False if it could not be stored."""
        try:
            with self._session("remember a prompt") as database:
                key = self.hash_chat(chat_id)
                with database.transaction():
                    database.execute(
                        "INSERT INTO why_prompts (chat_key, message_id, question_id, prompted_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (chat_key, message_id) DO UPDATE SET question_id = excluded.question_id, "
                        "prompted_at = excluded.prompted_at", (key, message_id, question_id, stamp(self._clock())))
                    database.execute(
                        "DELETE FROM why_prompts WHERE chat_key = ? AND message_id NOT IN (SELECT message_id FROM "
                        "why_prompts WHERE chat_key = ? ORDER BY message_id DESC LIMIT ?)", (key, key, keep))
                return True
        except FeedbackStoreError as exc:
            self._failed(exc)
            return False

    def prompted_question(self, chat_id: int, message_id: int) -> int | None:
        """The question a (recent enough) prompt message asked about, or None (no such prompt, a failure)."""
        try:
            with self._session("read a prompt") as database:
                row = database.execute(
                    "SELECT question_id FROM why_prompts WHERE chat_key = ? AND message_id = ? AND prompted_at >= ?",
                    (self.hash_chat(chat_id), message_id, self._memory_cutoff())).fetchone()
                return int(row[0]) if row else None
        except FeedbackStoreError as exc:
            self._failed(exc)
            return None

    # -- chat memory (raises FeedbackStoreError: the persistence decides) -----------------------------
    def load_memory(self, chat_id: int) -> str | None:
        """The chat's memory as stored (JSON text), or None when there is none younger than the retention."""
        with self._session("read a chat's memory") as database:
            row = database.execute("SELECT data FROM chat_memory WHERE chat_key = ? AND updated_at >= ?",
                                   (self.hash_chat(chat_id), self._memory_cutoff())).fetchone()
            return None if row is None else str(row[0])

    def save_memory(self, chat_id: int, data: str) -> None:
        """Write one chat's memory (JSON text): one row, whatever the other chats hold."""
        with self._session("write a chat's memory") as database:
            self._maybe_purge()
            database.execute("INSERT INTO chat_memory (chat_key, data, updated_at) VALUES (?, ?, ?) "
                             "ON CONFLICT (chat_key) DO UPDATE SET data = excluded.data, "
                             "updated_at = excluded.updated_at", (self.hash_chat(chat_id), data, stamp(self._clock())))

    def drop_memory(self, chat_id: int) -> None:
        with self._session("delete a chat's memory") as database:
            database.execute("DELETE FROM chat_memory WHERE chat_key = ?", (self.hash_chat(chat_id),))

    def import_memories(self, memories: dict[int, str], written_at: float) -> int:
        """Store many chats' memories (JSON texts) written at ``written_at``, in one transaction; memory the
        store already has for a chat is newer and kept. How many were taken: all, or none when ``written_at``
        is older than the retention."""
        if self._clock() - written_at > self.memory_retention:
            return 0
        with self._session("import chat memory") as database:
            rows = [(self.hash_chat(chat_id), data, stamp(written_at)) for chat_id, data in memories.items()]
            with database.transaction():
                database.execute_many("INSERT INTO chat_memory (chat_key, data, updated_at) VALUES (?, ?, ?) "
                                      "ON CONFLICT (chat_key) DO NOTHING", rows)
            return len(rows)

    def _memory_cutoff(self) -> str:
        return stamp(self._clock() - self.memory_retention)

    # -- rate windows -----------------------------------------------------------------------------------
    def rate_check(self, scope: str, user_id: int, limit: int, window: float) -> Decision:
        """Count one event of ``scope`` ('questions', 'updates') for the user against ``limit`` per ``window``
        seconds, shared by every process using this database: the user's row is locked for the check.
        Raises FeedbackStoreError."""
        with self._session("check a rate limit") as database:
            key = (scope, self.hash_user(user_id))
            with database.transaction():
                database.execute("INSERT INTO rate_windows (scope, user_hash, times, told_at, expires_at) "
                                 "VALUES (?, ?, '[]', NULL, 0) ON CONFLICT (scope, user_hash) DO NOTHING", key)
                times, told = database.execute("SELECT times, told_at FROM rate_windows WHERE scope = ? AND "
                                               "user_hash = ?" + database.lock_rows, key).fetchone()
                decision = decide([float(t) for t in json.loads(times)], told, self._clock(), limit, window)
                database.execute("UPDATE rate_windows SET times = ?, told_at = ?, expires_at = ? "
                                 "WHERE scope = ? AND user_hash = ?",
                                 (json.dumps(decision.times), decision.told_at, decision.expires_at, *key))
            return decision

    # -- retention ----------------------------------------------------------------------------------------
    def purge(self) -> int:
        """Delete rows older than their retention (feedback, chat memory, prompts, idle rate windows)."""
        try:
            with self._session("delete old rows"):
                return self._purge_locked()
        except FeedbackStoreError as exc:
            self._failed(exc)
            return 0

    def _maybe_purge(self) -> None:
        if self._clock() - self._last_purge >= _PURGE_INTERVAL:
            self._purge_locked()

    def _purge_locked(self) -> int:
        self._last_purge = now = self._clock()
        database = self.database
        with database.transaction():
            memories = database.execute("DELETE FROM chat_memory WHERE updated_at < ?",
                                        (self._memory_cutoff(),)).rowcount
            prompts = database.execute("DELETE FROM why_prompts WHERE prompted_at < ?",
                                       (self._memory_cutoff(),)).rowcount
            database.execute("DELETE FROM rate_windows WHERE expires_at < ?", (now,))
            votes = questions = comments = 0
            if self.retention_days > 0:
                cutoff = stamp(now - self.retention_days * 86400)
                votes = database.execute(
                    "DELETE FROM feedback WHERE voted_at < ? OR question_id IN "
                    "(SELECT id FROM questions WHERE asked_at < ?)", (cutoff, cutoff)).rowcount
                questions = database.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
                comments = database.execute("DELETE FROM comments WHERE sent_at < ?", (cutoff,)).rowcount
                database.execute("DELETE FROM reviews WHERE reviewed_at < ?", (cutoff,))
        if votes or questions or comments:
            log.info("feedback retention: deleted %d questions, %d votes and %d comments older than %d days",
                     questions, votes, comments, self.retention_days)
        if memories or prompts:
            log.info("chat memory retention: deleted the memory of %d chats and %d prompts older than %g days",
                     memories, prompts, self.memory_retention / 86400)
        return votes + questions + comments + memories + prompts

    # -- staff's review ---------------------------------------------------------------------------------
    def record_review(self, question: str, outcome: str, passage_id: str = "") -> bool:
        """Staff reviewed ``question`` (REVIEW_OUTCOMES): it does not come back to /review. False if not stored."""
        try:
            with self._session("store a review") as database:
                database.execute(
                    "INSERT INTO reviews (normalized, question, outcome, passage_id, reviewed_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (normalized) DO UPDATE SET question = excluded.question, "
                    "outcome = excluded.outcome, passage_id = excluded.passage_id, reviewed_at = excluded.reviewed_at",
                    (report_key(question), question, outcome, passage_id, stamp(self._clock())))
                return True
        except FeedbackStoreError as exc:
            self._failed(exc)
            return False

    def reviews(self) -> dict[str, str]:
        """Normalized question → outcome of every review kept. Raises FeedbackStoreError."""
        with self._session("read the reviews") as database:
            return dict(database.execute("SELECT normalized, outcome FROM reviews").fetchall())

    # -- reading ------------------------------------------------------------------------------------
    def totals(self, since: str = "") -> dict[str, Any]:
        """Questions, answered, abstained and 👍/👎 counts (since a UTC 'YYYY-MM-DD HH:MM:SS', or all).
        Raises FeedbackStoreError."""
        with self._session("read the totals") as database:
            asked, answered = database.execute(
                "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM questions WHERE asked_at >= ?",
                (since,)).fetchone()
            up, down = database.execute(
                "SELECT COALESCE(SUM(CASE WHEN vote = 1 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN vote = -1 THEN 1 ELSE 0 END), 0) FROM feedback WHERE voted_at >= ?",
                (since,)).fetchone()
        return {"questions": asked, "answered": answered, "abstained": asked - answered,
                "answered_share": round(answered / asked, 4) if asked else None, "up": up, "down": down}

    def report(self, days: int = 0, limit: int = 20) -> dict[str, Any]:
        """Unanswered and down-voted questions grouped by normalized text, most frequent first, with totals.
        Raises FeedbackStoreError."""
        since = stamp(self._clock() - days * 86400) if days > 0 else ""
        latest = "FROM questions q2 WHERE q2.normalized = q.normalized {} ORDER BY q2.asked_at DESC, q2.id DESC LIMIT 1"
        latest_unanswered, latest_asked = latest.format("AND q2.answered = 0"), latest.format("")
        latest_shown = latest.format("AND q2.shown != ''")
        down = "SUM(CASE WHEN f.vote = -1 THEN 1 ELSE 0 END)"
        with self._session("read the report") as database:
            unanswered = database.execute(
                "SELECT normalized, COUNT(*) AS n, MAX(asked_at) AS last_asked, "
                f" (SELECT q2.abstain_reason {latest_unanswered}), (SELECT q2.question {latest_unanswered}) "
                "FROM questions q WHERE answered = 0 AND asked_at >= ? "
                "GROUP BY normalized ORDER BY n DESC, last_asked DESC LIMIT ?", (since, limit)).fetchall()
            downvoted = database.execute(
                f"SELECT q.normalized, {down} AS down, SUM(CASE WHEN f.vote = 1 THEN 1 ELSE 0 END) AS up, "
                f" MAX(q.asked_at) AS last_asked, (SELECT q2.question {latest_asked}), "
                f" '[' || {database.joined_texts('q.passage_ids')} || ']', "
                f" (SELECT q2.shown {latest_shown}) "
                "FROM feedback f JOIN questions q ON q.id = f.question_id "
                f"WHERE f.voted_at >= ? GROUP BY q.normalized HAVING {down} > 0 "
                "ORDER BY down DESC, last_asked DESC LIMIT ?", (since, limit)).fetchall()
            reasons = database.execute(
                "SELECT q.normalized, f.reason, f.reason_text FROM feedback f JOIN questions q ON q.id = f.question_id "
                "WHERE f.voted_at >= ? AND f.vote = -1 AND (f.reason != '' OR f.reason_text != '') "
                "ORDER BY f.voted_at DESC", (since,)).fetchall()
            comments = database.execute(
                "SELECT sent_at, text FROM comments WHERE sent_at >= ? ORDER BY sent_at DESC, id DESC LIMIT ?",
                (since, limit)).fetchall()
            gaps = database.execute(
                "SELECT question, reviewed_at FROM reviews WHERE outcome = ? AND reviewed_at >= ? "
                "ORDER BY reviewed_at DESC LIMIT ?", (NONE_FITS, since, limit)).fetchall()
            reviewed = dict(database.execute("SELECT normalized, outcome FROM reviews").fetchall())
        why: dict[str, list[dict[str, str]]] = {}
        for normalized, reason, text in reasons:
            why.setdefault(normalized, []).append({"reason": reason, "text": text})
        return {
            "days": days,
            "since": since or None,
            "totals": self.totals(since),
            "unanswered": [{"question": example, "normalized": normalized, "count": n, "last_asked": last,
                            "reason": reason, "reviewed": reviewed.get(normalized, "")}
                           for normalized, n, last, reason, example in unanswered],
            "downvoted": [{"question": example, "normalized": normalized, "down": down, "up": up,
                           "last_asked": last, "shown": shown or "", "passages": _passage_ids(passages),
                           "reasons": why.get(normalized, []), "reviewed": reviewed.get(normalized, "")}
                          for normalized, down, up, last, example, passages, shown in downvoted],
            "comments": [{"sent_at": sent_at, "text": text} for sent_at, text in comments],
            "gaps": [{"question": question, "reviewed_at": at} for question, at in gaps],
        }


def _passage_ids(lists: str | None) -> list[str]:
    """Passage ids from a JSON list of JSON lists (the rows' lists joined with commas), first seen first."""
    try:
        groups = json.loads(lists or "[]")
    except ValueError:
        return []
    return list(dict.fromkeys(str(i) for group in groups if isinstance(group, list) for i in group))
