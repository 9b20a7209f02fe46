"""docs/performance.md stays true to the bench: each flag, part and build phase the bench has is described,
each one the page names exists, its links resolve, and it types no measured figure (those live in the files
the bench writes, bench/RESULTS.md and the plot)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.embedding import load_embedder
from bot.index import build_index
from devtools.__main__ import parser
from devtools.bench.measure import PARTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"
TEXT = DOC.read_text(encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    top = parser()
    [sub] = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": top, **sub.choices}


def _flags(command: argparse.ArgumentParser) -> set[str]:
    return {s for action in command._actions for s in action.option_strings if s.startswith("--")}


def _table_keys() -> set[str]:
    """The first cells of the page's tables: `--flag` and `phase` rows."""
    return set(re.findall(r"^\| `([^`]+)` \|", TEXT, re.MULTILINE))


def test_every_bench_flag_is_documented_and_every_documented_flag_exists() -> None:
    commands = _commands()
    assert _flags(commands["bench"]) - {"--help"} <= _table_keys()
    known = set().union(*(_flags(c) for c in commands.values()))
    assert set(re.findall(r"--[a-z][a-z-]*", TEXT)) <= known


def test_every_part_and_every_build_phase_is_described(fake_settings) -> None:
    assert {p for p in PARTS if f"**{p}**:" in TEXT} == set(PARTS)
    phases = set(build_index(fake_settings, load_embedder).phases)
    documented = _table_keys() - {f for f in _table_keys() if f.startswith("--")}
    assert documented == phases


def test_no_measured_figure_is_typed_by_hand() -> None:
    typed = re.findall(r"\d[\d.,]*\s*(?:ms|s|MB|GB|%|replies/s|texts/s|x)\b", TEXT)
    assert not typed, f"figures belong in the files the bench writes, not here: {typed}"


def test_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", TEXT)
    assert links and all((DOC.parent / link).exists() for link in links)
