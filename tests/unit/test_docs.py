"""The documentation a newcomer reads: a short README whose links all lead somewhere."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_every_relative_link_in_the_docs_leads_to_a_file() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "knowledge" / "README.md"]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "knowledge" / "README.md"]
# a path of the repository's own code as the docs name it; not inside a longer path (/opt/wenzhou-bot/.venv)
CODE_PATH = re.compile(r"(?<![\w/.-])((?:bot|devtools|tests)/[\w./-]*[\w/])")
COMMAND = re.compile(r"python -m (bot|devtools) ([a-z][a-z-]*)")


def test_every_code_path_the_docs_name_exists() -> None:
    missing = [f"{page.relative_to(ROOT)}: {path}" for page in PAGES
               for path in CODE_PATH.findall(page.read_text(encoding="utf-8")) if not (ROOT / path).exists()]
    assert not missing


def test_every_command_the_docs_name_exists() -> None:
    from bot.cli import parser as bot_parser
    from devtools.__main__ import parser as devtools_parser

    commands = {name: set(_subcommands(make())) for name, make in (("bot", bot_parser), ("devtools", devtools_parser))}
    unknown = [f"{page.relative_to(ROOT)}: python -m {package} {command}" for page in PAGES
               for package, command in COMMAND.findall(page.read_text(encoding="utf-8"))
               if command not in commands[package]]
    assert not unknown


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]
