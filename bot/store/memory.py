"""A chat's memory as plain JSON, and the one-time import of python-telegram-bot's old pickle file.

What a chat remembers (``chat_data``: its last question) is dicts of text, numbers and
lists; it is stored as JSON text, never pickled, so reading the store can never run code. JSON object keys
are text: a dict whose keys were all whole numbers (message ids) is written with them as text and read
back with numbers again.

Before the store kept chat memory, python-telegram-bot's PicklePersistence kept it in a pickle file
(setting conversation_store). That file is read once, with an unpickler that builds only plain dicts,
lists, tuples, text, numbers, booleans and None and refuses anything else (so a crafted file cannot run
code), imported into the store, and renamed aside. A file that holds anything else, or is not a pickle at
all (empty, truncated), is renamed aside unread, with one line in the log.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIGRATED_SUFFIX = ".migrated"
REFUSED_SUFFIX = ".refused"
_WHOLE_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def plain(value: Any, budget: int | None = None) -> Any:
    """``value`` as JSON-ready data (tuples become lists, whole-number keys text); ValueError naming the first
    thing that is not plain data. ``budget`` bounds the values visited, so shared references in a pickle
    cannot expand into more than its size."""
    visited = 0

    def convert(item: Any, depth: int) -> Any:
        nonlocal visited
        visited += 1
        if budget is not None and visited > budget:
            raise ValueError("more values than the file's size allows (shared references)")
        if depth > 100:
            raise ValueError("nested more than 100 levels deep")
        if item is None or isinstance(item, (bool, str)):
            return item
        if isinstance(item, int):
            return item
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValueError("a number that is not finite")
            return item
        if type(item) in (list, tuple):
            return [convert(element, depth + 1) for element in item]
        if type(item) is dict:
            if item and all(type(key) is int for key in item):
                return {str(key): convert(element, depth + 1) for key, element in item.items()}
            if all(type(key) is str for key in item):
                return {key: convert(element, depth + 1) for key, element in item.items()}
            raise ValueError("a dict whose keys are not all text or all whole numbers")
        raise ValueError(f"a value of type {type(item).__name__}")

    return convert(value, 0)


def encode_memory(data: Mapping[Any, Any]) -> str:
    """A chat's memory as the JSON text the store keeps (keys sorted, so equal memories are equal texts);
    ValueError when it holds anything but plain data."""
    return _dump(plain(dict(data)))


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode_memory(text: str) -> dict[Any, Any]:
    """What ``encode_memory`` wrote; ValueError when the text is not a JSON object."""
    data = json.loads(text, object_pairs_hook=_restore_keys)
    if not isinstance(data, dict):
        raise ValueError("a chat's memory is not a JSON object")
    return data


def _restore_keys(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
    if pairs and all(_WHOLE_NUMBER.fullmatch(key) for key, _ in pairs):
        return {int(key): value for key, value in pairs}
    return dict(pairs)


class _PlainUnpickler(pickle.Unpickler):
    """Builds only what pickle's own opcodes make (dicts, lists, tuples, text, numbers...); every class or
    function a pickle names, and every persistent reference, is refused before anything is called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"it names {module}.{name}"[:120])

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("it holds a reference to an object outside the file (a Bot)")


def read_legacy_pickle(path: Path) -> dict[int, str]:
    """Each chat's memory (JSON text) from a PicklePersistence file; ValueError saying why it is refused,
    OSError when it cannot be read."""
    raw = path.read_bytes()
    try:
        data = _PlainUnpickler(io.BytesIO(raw)).load()
    except Exception as exc:  # a damaged pickle raises almost anything: all of it means "not this file"
        raise ValueError(f"not a plain pickle ({type(exc).__name__}: {exc})"[:200]) from None
    data = plain(data, budget=len(raw))
    chats = data.get("chat_data") if isinstance(data, dict) else None
    if not isinstance(chats, dict):
        raise ValueError("no chat_data mapping in it")
    memories: dict[int, str] = {}
    for chat_id, memory in chats.items():
        if not _WHOLE_NUMBER.fullmatch(chat_id) or not isinstance(memory, dict):
            raise ValueError("its chat_data is not a mapping of chat ids to dicts")
        if memory:
            memories[int(chat_id)] = _dump(memory)
    return memories


def migrate_legacy_pickle(path: Path, import_memories: Callable[[dict[int, str], float], int]) -> None:
    """Import the chats of an old PicklePersistence file with ``import_memories(memories, written_at)`` and
    rename the file aside, saying so in one log line; nothing when there is no such file. When the store
    fails (FeedbackStoreError), the file stays where it is and is tried again at the next start."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file():
        log.warning("chat memory: ignored %s: not a file (setting conversation_store)", path)
        return
    try:
        written_at = path.stat().st_mtime
        memories = read_legacy_pickle(path)
    except OSError as exc:
        log.warning("chat memory: ignored the old memory file %s: cannot read it (%s)", path, exc.strerror or exc)
        return
    except ValueError as exc:
        log.warning("chat memory: refused the old memory file %s: %s; %s", path, exc, _aside(path, REFUSED_SUFFIX))
        return
    stored = import_memories(memories, written_at)
    older = f" ({len(memories) - stored} older than conversation_retention_days left out)" \
        if stored < len(memories) else ""
    log.info("chat memory: imported %d chats from the old memory file %s%s; %s", stored, path, older,
             _aside(path, MIGRATED_SUFFIX))


def _aside(path: Path, suffix: str) -> str:
    """Rename ``path`` so it is never read again; the end of the log line saying where it went."""
    target = path.with_name(path.name + suffix)
    try:
        os.replace(path, target)
    except OSError as exc:
        return f"could not rename it aside ({exc.strerror or exc}); remove it"
    return f"renamed it to {target.name}"
