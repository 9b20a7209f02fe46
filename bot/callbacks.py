"""Callback data of the bot's inline buttons: encoded to fit Telegram's 64 bytes, and parsed strictly.

Button data comes back from the client and may be forged, so every parser bounds and validates it and
returns None for anything else. A section id that does not fit a button (or is not plain ASCII) is
carried as a short hash of itself; a vote carries its question's row id and a tag binding it to that
row and to the chat the answer went to (``Store.vote_tag``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_TOPIC = re.compile(r"t:([A-Za-z0-9_.-]{1,60})|t#([0-9a-f]{16})")
_VOTE = re.compile(r"fb:([+-]):([1-9][0-9]{0,18}):([A-Za-z0-9_-]{8})")
_EXAMPLE = re.compile(r"ex:([0-9]{1,3})")


@dataclass(frozen=True)
class Vote:
    vote: int  # +1 or -1
    question_id: int
    tag: str


def _id_hash(section_id: str) -> str:
    return hashlib.blake2b(section_id.encode("utf-8"), digest_size=8).hexdigest()


def topic_data(section_id: str) -> str:
    """``t:<id>`` when the id is short plain ASCII, else ``t#<hash of the id>``: always within 64 bytes."""
    return f"t:{section_id}" if _PLAIN_ID.fullmatch(section_id) else f"t#{_id_hash(section_id)}"


def find_topic(data: str, sections: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The section a topic button names, or None (unknown, or not a topic button at all)."""
    match = _TOPIC.fullmatch(data or "")
    if match is None:
        return None
    plain, hashed = match.groups()
    return next((s for s in sections if (s["id"] == plain if plain else _id_hash(s["id"]) == hashed)), None)


def vote_data(vote: int, question_id: int, tag: str) -> str:
    return f"fb:{'+' if vote > 0 else '-'}:{question_id}:{tag}"


def parse_vote(data: str) -> Vote | None:
    match = _VOTE.fullmatch(data or "")
    if match is None:
        return None
    question_id = int(match.group(2))
    if question_id >= 2 ** 63:  # SQLite's largest row id
        return None
    return Vote(1 if match.group(1) == "+" else -1, question_id, match.group(3))


def example_data(index: int) -> str:
    return f"ex:{index}"


def parse_example(data: str) -> int | None:
    match = _EXAMPLE.fullmatch(data or "")
    return int(match.group(1)) if match else None
