"""Build folders: each build in its own folder under ``index/builds/``, the ``index/CURRENT`` pointer naming the
one in service, a lock for publishing, pruning of old builds, and verification of a build's files.

The pointer moves only when a build is complete (an atomic rename), so a build that fails half-way, or a
reader that loads while a build runs, always sees a whole index. Publishing and pruning happen under a lock
(``index/.lock``), so concurrent builds never leave ``CURRENT`` pointing at a pruned build.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DamagedBuildError, IndexLoadError

FORMAT_VERSION = 3  # 2: figure units of sentences, unit groups; 3: typed articles and sections, passages' sentences
POINTER = "CURRENT"
BUILDS = "builds"
LOCK = ".lock"
BUILD_ID = re.compile(r"\d{8}T\d{12}Z")  # what build_index names its builds (UTC time to microseconds)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()



def current_build(index_dir: Path) -> Path | None:
    """The build ``CURRENT`` names; None when there is no pointer. A pointer that is not a build id of a
    build folder here (garbled, a folder, pointing elsewhere) raises IndexLoadError saying how to repair it."""
    pointer = index_dir / POINTER
    if not pointer.exists() and not pointer.is_symlink():
        return None
    repair = "run `python -m bot build` to publish a fresh build"
    try:
        name = pointer.read_bytes().decode("ascii").strip()
    except IsADirectoryError:
        raise IndexLoadError(f"the index pointer {pointer} is a folder, not a file; remove it and {repair}") from None
    except OSError as exc:
        raise IndexLoadError(f"the index pointer {pointer} cannot be read ({exc.strerror}); {repair}") from None
    except UnicodeDecodeError:
        raise IndexLoadError(f"the index pointer {pointer} is garbled; {repair}") from None
    if not BUILD_ID.fullmatch(name):
        raise IndexLoadError(f"the index pointer {pointer} does not name a build; {repair}")
    build = index_dir / BUILDS / name
    if not build.is_dir():
        raise IndexLoadError(f"the index pointer {pointer} names build {name}, which is missing; {repair}")
    return build


def verify_build(build: Path, checksums: bool = True) -> dict[str, Any]:
    """The build's manifest once every file it lists is there with its size (and, with ``checksums``, its
    content hash); IndexLoadError naming the first file that differs."""
    try:
        manifest = json.loads((build / "manifest.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DamagedBuildError(f"index build {build} is unreadable ({reason(exc)}); rebuild with "
                             "`python -m bot build`") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION \
            or not isinstance(manifest.get("files"), dict):
        raise IndexLoadError(f"index build {build} has an unknown format; rebuild with `python -m bot build`")
    sizes = manifest.get("sizes") or {}
    for name, digest in manifest["files"].items():
        path = build / name
        if not path.is_file():
            raise DamagedBuildError(f"index file {path} is missing; rebuild with `python -m bot build`")
        if name in sizes and path.stat().st_size != sizes[name]:
            raise DamagedBuildError(f"index file {path} is damaged (size differs); rebuild with `python -m bot build`")
        if checksums and sha256_of(path) != digest:
            raise DamagedBuildError(f"index file {path} is damaged (checksum differs); rebuild with "
                                    "`python -m bot build`")
    return manifest


def reason(exc: BaseException) -> str:
    """An exception in a few words, never the content of the file that caused it."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON at line {exc.lineno}"
    return type(exc).__name__



def finished_builds(index_dir: Path) -> list[Path]:
    """The build folders under ``index/builds/``, newest first (half-written staging folders left out)."""
    builds = index_dir / BUILDS
    if not builds.is_dir():
        return []
    return sorted((p for p in builds.iterdir() if p.is_dir() and BUILD_ID.fullmatch(p.name)),
                  key=lambda p: p.name, reverse=True)


def replace_pointer(index_dir: Path, build_id: str) -> None:
    temporary = index_dir / f".{POINTER}.{os.getpid()}"
    temporary.write_text(build_id + "\n", encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    if (index_dir / POINTER).is_dir():  # a pointer that is a folder cannot be replaced by a rename
        shutil.rmtree(index_dir / POINTER)
    os.replace(temporary, index_dir / POINTER)


@contextlib.contextmanager
def publish_lock(index_dir: Path) -> Iterator[None]:
    """One publisher at a time: renaming a build in, moving the pointer and pruning happen together, so a
    concurrent build never prunes the build another is about to point to."""
    with (index_dir / LOCK).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def prune(index_dir: Path, keep: int, current: Path) -> None:
    """Delete all but the newest ``keep`` builds, never the current one; and builds that died half-way."""
    builds = index_dir / BUILDS
    for old in finished_builds(index_dir)[max(1, keep):]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in builds.glob(".tmp-*"):
        with contextlib.suppress(OSError):  # another build may finish or clean it meanwhile
            if time.time() - leftover.stat().st_mtime > 3600:
                shutil.rmtree(leftover, ignore_errors=True)

