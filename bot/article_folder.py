"""An article folder in knowledge/ written, replaced or removed whole.

A new version of an article is written into a hidden sibling folder (``.<slug>.importing``) and swapped in:
on Linux with one atomic exchange of the two folders (renameat2 RENAME_EXCHANGE), elsewhere by renaming the
old folder aside (``.<slug>.replaced``) and the new one in. A removal first renames the folder aside
(``.<slug>.removing``). So a process killed at any moment leaves the article all old or all new, never
mixed; what it leaves behind is hidden (the knowledge loader skips names starting with '.') and is cleaned
by the next import or removal (an old folder renamed aside with no new one in place is put back).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
from pathlib import Path

from .errors import ArticleImportError

STAGING, REPLACED, REMOVING = ".importing", ".replaced", ".removing"
_SLUG = re.compile(r"^\w[\w.-]{0,99}$")
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def checked_slug(slug: str, knowledge_dir: Path, given_as: str = "--slug") -> str:
    """``slug`` when it names a folder directly inside ``knowledge_dir``; ArticleImportError otherwise."""
    if not _SLUG.fullmatch(slug) or ".." in slug:
        raise ArticleImportError(f"{given_as} {slug!r}: an article's folder name must stay inside {knowledge_dir}: "
                                 "letters, digits, '-', '_' and '.', not starting with '.', no '/' or '..'")
    return slug


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _sync_dir(path: Path) -> None:
    """Make renames and new entries in ``path`` durable (a power cut after the swap keeps the swap)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _hidden(folder: Path, suffix: str) -> Path:
    return folder.parent / f".{folder.name}{suffix}"


def clean_leftovers(knowledge_dir: Path) -> list[str]:
    """Finish what an interrupted import or removal left: put back an old folder whose replacement never
    arrived, delete the rest. Returns what was done, for the command's output."""
    try:
        return _cleaned(knowledge_dir)
    except OSError as exc:
        raise ArticleImportError(f"{knowledge_dir}: cannot clean up after an interrupted import or removal "
                                 f"({exc.strerror or exc})") from None


def _cleaned(knowledge_dir: Path) -> list[str]:
    done: list[str] = []
    if not knowledge_dir.is_dir():
        return done
    for entry in sorted(knowledge_dir.iterdir()):
        for suffix in (STAGING, REPLACED, REMOVING):
            if not (entry.name.startswith(".") and entry.name.endswith(suffix)) or not entry.is_dir():
                continue
            folder = knowledge_dir / entry.name[1:-len(suffix)]
            if suffix == REPLACED and not folder.exists():
                entry.rename(folder)
                done.append(f"restored {folder.name}/ (an import was interrupted before the new version was in)")
            else:
                shutil.rmtree(entry)
                done.append(f"removed the leftover {entry.name}/ of an interrupted "
                            f"{'removal' if suffix == REMOVING else 'import'}")
    if done:
        _sync_dir(knowledge_dir)
    return done


def write_folder(folder: Path, files: dict[str, str]) -> None:
    """Make ``folder`` hold exactly ``files`` (name → text) plus the old folder's other files (anything
    that is not YAML: an editor's notes, pictures), replacing the old version whole."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", str(folder))
    staging = _hidden(folder, STAGING)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, text in files.items():
        _write(staging / name, text)
    if folder.is_dir():
        for entry in folder.iterdir():
            if not entry.name.endswith(".yaml") and not entry.name.startswith("."):
                copy = shutil.copytree if entry.is_dir() else shutil.copy2
                copy(entry, staging / entry.name)
    _sync_dir(staging)
    if not folder.exists():
        staging.rename(folder)
    elif _exchange(staging, folder):
        shutil.rmtree(staging)  # it holds the old version now
    else:
        aside = _hidden(folder, REPLACED)
        folder.rename(aside)
        staging.rename(folder)
        shutil.rmtree(aside)
    _sync_dir(folder.parent)


def remove_folder(folder: Path) -> None:
    """Remove ``folder`` whole: renamed aside first, so an interrupted removal leaves no half article."""
    aside = _hidden(folder, REMOVING)
    folder.rename(aside)
    _sync_dir(folder.parent)
    shutil.rmtree(aside)
