"""Deep links: ``t.me/<bot>?start=<payload>`` opens a topic's card; the payload names the section.

Telegram allows a start payload of 1–64 characters A-Z a-z 0-9 _ -. Today's section ids (intro, s1 … s10)
are their own payload, so a link stays readable (``?start=s8``); an id with other characters is sent as
``-b`` + its UTF-8 in URL-safe base64, and one too long for that as ``-h`` + the start of its SHA-256, looked
up among the loaded sections. Plain ids never start with ``-``, so the three forms cannot be confused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable

MAX_START_PAYLOAD = 64
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_ENCODED, _HASHED = "-b", "-h"
_HASH_HEX = 32  # 128 bits of SHA-256: no two sections collide by chance


def _hashed(section_id: str) -> str:
    return _HASHED + hashlib.sha256(section_id.encode("utf-8")).hexdigest()[:_HASH_HEX]


def start_payload(section_id: str) -> str:
    """The start payload that opens ``section_id``'s card (always valid for Telegram)."""
    if _PLAIN.fullmatch(section_id):
        return section_id
    encoded = _ENCODED + base64.urlsafe_b64encode(section_id.encode("utf-8")).decode("ascii").rstrip("=")
    return encoded if len(encoded) <= MAX_START_PAYLOAD else _hashed(section_id)


def payload_section(payload: str, section_ids: Iterable[str]) -> str | None:
    """The loaded section a start payload names, or None (unknown, malformed or from older content)."""
    ids = list(section_ids)
    if payload.startswith(_HASHED):
        return next((i for i in ids if _hashed(i) == payload), None)
    if payload.startswith(_ENCODED):
        body = payload[len(_ENCODED):]
        try:
            section_id = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    else:
        section_id = payload
    return section_id if section_id in ids else None


def deep_link(bot_username: str, section_id: str) -> str:
    """The link to share for a section's card."""
    return f"https://t.me/{bot_username}?start={start_payload(section_id)}"
