"""`import --replace` killed (SIGKILL) or interrupted (Ctrl-C) at every file system step it takes: the article
is all old or all new, `build --check` (load_knowledge) never sees a half article, and the next import
cleans up and finishes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge import load_knowledge
from tests.helpers import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # a subprocess per step

# the child counts the steps that change the disk and stops itself at step N (SIGKILL or SIGINT)
CHILD = """
import os, shutil, signal, sys
from bot import article_folder
from bot.cli import main

target, how, steps = int(sys.argv[1]), sys.argv[2], 0

def step(function):
    def counted(*args, **kwargs):
        global steps
        steps += 1
        if steps == target:
            os.kill(os.getpid(), signal.SIGKILL if how == "kill" else signal.SIGINT)
        return function(*args, **kwargs)
    return counted

os.fsync, os.rename, shutil.rmtree = step(os.fsync), step(os.rename), step(shutil.rmtree)
article_folder._exchange = step(article_folder._exchange)
code = main(sys.argv[3:])
print(f"steps {steps}", file=sys.stderr)
sys.exit(code)
"""


def run_child(knowledge: Path, source: Path, target: int, how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, str(target), how, "--set", f"knowledge_dir={knowledge}",
                           "import", "--replace", str(source)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} if folder.is_dir() else {}


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, dict[str, str], Path, dict[str, str]]:
    """A knowledge folder holding the old version, the old files, the new source and the new files."""
    new_source = tmp_path / "src" / "water_saving_city.txt"
    new_source.parent.mkdir()
    text = (FIXTURES / "water_saving_city.txt").read_text(encoding="utf-8")
    new_source.write_text(text[:text.index("三、再生水")].replace("365公里", "380公里"), encoding="utf-8")
    done = tmp_path / "done"
    assert run_child(done, new_source, 0, "kill").returncode == 0
    old = tmp_path / "old"
    assert run_child(old, FIXTURES / "water_saving_city.txt", 0, "kill").returncode == 0
    return old, contents(old / "water-saving-city"), new_source, contents(done / "water-saving-city")


def test_killed_at_every_step_the_article_is_all_old_or_all_new(tmp_path, versions):
    old, old_files, new_source, new_files = versions
    assert old_files != new_files and "03.yaml" in old_files and "03.yaml" not in new_files
    shutil.copytree(old, tmp_path / "count")
    counting = run_child(tmp_path / "count", new_source, 0, "kill")
    steps = int(counting.stderr.split("steps ")[-1])
    assert steps >= 5, counting.stderr
    outcomes = set()
    for target in range(1, steps + 1):
        knowledge = tmp_path / f"k{target}"
        shutil.copytree(old, knowledge)
        killed = run_child(knowledge, new_source, target, "kill")
        assert killed.returncode == -signal.SIGKILL
        now = contents(knowledge / "water-saving-city")
        assert now in (old_files, new_files), f"killed at step {target}: {sorted(now)}"
        outcomes.add("new" if now == new_files else "old")
        loaded = load_knowledge(knowledge)  # what `build --check` reads: one whole article
        assert len(loaded.articles) == 1 and len(loaded.sections) == len(now) - 1
        finished = run_child(knowledge, new_source, 0, "kill")
        assert finished.returncode == 0, finished.stderr
        assert contents(knowledge / "water-saving-city") == new_files
        assert sorted(p.name for p in knowledge.iterdir()) == ["water-saving-city"]  # leftovers cleaned
    assert outcomes == {"old", "new"}  # the kills fell both before and after the swap


def test_ctrl_c_prints_one_line_and_leaves_a_whole_article(tmp_path, versions):
    old, old_files, new_source, new_files = versions
    for target in (1, 3, 6):
        knowledge = tmp_path / f"k{target}"
        shutil.copytree(old, knowledge)
        interrupted = run_child(knowledge, new_source, target, "int")
        lines = [line for line in interrupted.stderr.splitlines() if not line.startswith("steps ")]
        assert interrupted.returncode == 130 and len(lines) == 1, interrupted.stderr
        assert lines[0].startswith("error: import interrupted") and "Traceback" not in interrupted.stderr
        assert contents(knowledge / "water-saving-city") in (old_files, new_files)
