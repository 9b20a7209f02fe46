"""The heartbeat `serve` leaves while it polls or listens, read by `health --live` (the container HEALTHCHECK).

A process can stay alive after it has stopped doing its job (polling ended on an error, the webhook server
died): only a file touched by the working loop itself tells a supervisor the bot still serves.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path


def beat(path: Path, state: str) -> None:
    """Record that the bot is ``state`` ('polling', 'listening') now: the file's mtime is the time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(f"{state} pid {os.getpid()}\n", encoding="utf-8")
    os.replace(temporary, path)


def problem(path: Path, max_age: float, clock: float | None = None) -> str | None:
    """Why the heartbeat says the bot is not serving, or None when it is fresh. Only a readable regular file
    written in the last ``max_age`` seconds counts: a folder, an unreadable file or a time in the future (a
    clock set back, a file touched by hand) cannot show that `serve` is working now."""
    now = time.time() if clock is None else clock
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"no heartbeat file {path}: `python -m bot serve` is not running (or not polling yet)"
    except OSError as exc:
        return f"the heartbeat file {path} cannot be read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return f"the heartbeat path {path} is not a file (setting heartbeat_file): remove it and restart `serve`"
    try:
        with path.open("rb") as handle:
            handle.read(64)
    except OSError as exc:
        return f"the heartbeat file {path} cannot be read ({exc.strerror})"
    age = now - info.st_mtime
    if age < 0:
        return (f"the heartbeat file {path} is dated {-age:.0f} s in the future: the clock was set back or the "
                "file was touched by hand; `python -m bot serve` writes it anew within seconds if it is running")
    if age > max_age:
        return (f"the heartbeat file {path} is {age:.0f} s old (limit heartbeat_max_age {max_age:g} s): "
                "`python -m bot serve` has stopped polling or listening; restart it")
    return None
