"""The bot's store: feedback, chat memory, 👎 prompts and per-user rate windows, in SQLite or PostgreSQL.

``Store`` (store.py) is the one interface; ``database.py`` holds the two backends and the schema,
``memory.py`` the plain-JSON chat memory, ``persistence.py`` python-telegram-bot's persistence over it,
``limits.py`` the per-user rate limits (shared through the store), ``report.py`` and ``backup.py`` the
staff's commands.
"""

from .backup import backup_database
from .database import SCHEMA_VERSION
from .limits import RateLimiter
from .report import format_report
from .store import DOWN_REASONS, Store, VoteResult

__all__ = ["DOWN_REASONS", "SCHEMA_VERSION", "RateLimiter", "Store", "VoteResult", "backup_database",
           "format_report"]
