"""``python -m bot backup``: a consistent copy of the SQLite store while the bot writes to it.

A PostgreSQL store (database_url) is backed up with PostgreSQL's own tools (``pg_dump``), not here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import FeedbackStoreError
from .database import SALT_SUFFIX


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
