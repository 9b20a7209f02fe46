"""The update workflow of docs/content.md against a running bot with its default settings: `import --replace`
and `build` while it serves, and the next answers come from the new content without /reload or a restart;
`remove` and `build`, and the article is gone from the answers."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.embedding import Embedder
from bot.engine import Engine
from bot.index import build_index
from devtools.fakeapi import FakeBotAPI
from tests.helpers import FIXTURES, RunningBot, ask, base_settings, plain

pytestmark = pytest.mark.slow  # builds and waits for the reload loop

QUESTION = "老旧供水管网改造了多少公里"


def _asked_until(api: FakeBotAPI, done: Callable[[str], bool], seconds: float) -> str:
    """Ask again until the answer is ``done`` (the bot reloads on its own) or ``seconds`` pass; the last one."""
    deadline = time.monotonic() + seconds
    while True:
        text = plain(ask(api, QUESTION)[0])
        if done(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def test_import_and_build_are_served_by_themselves(
        api: FakeBotAPI, start: Callable[..., RunningBot], index_dir: Path, embedder: Embedder,
        knowledge_copy: Path, tmp_path: Path) -> None:
    own_index = tmp_path / "index"
    shutil.copytree(index_dir, own_index)
    settings = base_settings(index_dir=str(own_index), knowledge_dir=str(knowledge_copy))
    assert settings.auto_reload_seconds > 0  # on by default
    engine = Engine(settings, embedder=embedder)
    start(engine_=engine, index_dir=str(own_index), knowledge_dir=str(knowledge_copy), rate_limit_per_minute=0)
    assert "365公里" in plain(ask(api, QUESTION)[0])

    updated = tmp_path / "src" / "water_saving_city.txt"  # the same file name: the same article folder
    updated.parent.mkdir()
    updated.write_text((FIXTURES / "water_saving_city.txt").read_text(encoding="utf-8").replace("365公里", "380公里"),
                       encoding="utf-8")
    out = io.StringIO()
    assert main(["--set", f"knowledge_dir={knowledge_copy}", "import", "--replace", str(updated)], out=out) == 0
    build_index(settings, lambda _: embedder)  # `python -m bot build`, with the test's embedder
    wait = 4 * settings.auto_reload_seconds + 10
    answer = _asked_until(api, lambda text: "380公里" in text, wait)
    assert "380公里" in answer and "365公里" not in answer

    assert main(["--set", f"knowledge_dir={knowledge_copy}", "remove", "--yes", "water-saving-city"], out=out) == 0
    build_index(settings, lambda _: embedder)
    answer = _asked_until(api, lambda text: "380公里" not in text, wait)
    assert "380公里" not in answer and "节水型城市建设三项举措见实效" not in answer
