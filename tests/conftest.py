"""Shared fixtures: settings pointing at temporary folders, a deterministic fake embedder, built indexes, and the
Telegram bot running against the fake Bot API server. Helpers the tests import are in ``tests.helpers``."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import embedding
from bot.config import Settings
from bot.embedding import Embedder
from bot.index import build_index
from bot.knowledge import PINS_FILE
from bot.store import Store
from devtools.fakeapi import FakeBotAPI
from tests.helpers import FAKE_MODEL, KNOWLEDGE, RunningBot, base_settings, bot_settings, fake_model, make_settings

embedding.register_model(FAKE_MODEL, fake_model)

pytest_plugins = ["tests.store_fixtures"]  # the store on both backends, PostgreSQL started for the session


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, embedding_model=FAKE_MODEL)


@pytest.fixture(scope="session")
def fake_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An Engine over the real knowledge with the fake embedder: fast, for tests of any text at all."""
    from bot.engine import Engine

    settings = make_settings(tmp_path_factory.mktemp("fake-engine"), embedding_model=FAKE_MODEL)
    build_index(settings, embedding.load_embedder)
    return Engine(settings)


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of the real knowledge folder, for tests that edit or break content; without its reviewed
    pins, so a test sees what the search alone answers and adds the pins it needs."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target, ignore=shutil.ignore_patterns(PINS_FILE))
    return target


# ---- the Telegram bot end to end: the real Application against devtools.fakeapi.FakeBotAPI -----------------
# Shared by the tests in tests/e2e and tests/tooling. The model, the index and the engine are loaded once per
# session (the real bundled model over the real knowledge).


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return embedding.load_embedder(base_settings())


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The real bundled model over the real knowledge, index built once for the whole session."""
    tmp = tmp_path_factory.mktemp("real")
    settings = make_settings(tmp)
    build_index(settings, lambda _: embedder)
    return settings


@pytest.fixture(scope="session")
def index_dir(real_settings: Settings) -> Path:
    return real_settings.path("index_dir")


@pytest.fixture(scope="session")
def engine(real_settings: Settings, embedder: Embedder):
    from bot.engine import Engine

    engine = Engine(real_settings, embedder=embedder)
    engine.answer("温州")  # warm up
    return engine


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


RUNNING_BOTS = pytest.StashKey[list[RunningBot]]()


GROUPS = ("unit", "content", "e2e", "tooling")  # the folders under tests/, each also a marker (-m e2e)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its group, the folder it lives in."""
    for item in items:
        group = Path(str(item.fspath)).parent.name
        if group in GROUPS:
            item.add_marker(getattr(pytest.mark, group))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """Stop a failed test's bots before pytest renders the failure.

    CPython 3.11's ast is not thread-safe (gh-106905): pytest parses source to show a failure while a bot
    thread's logging parses source to format a traceback, and the failure becomes an INTERNALERROR that
    ends the run without naming the test."""
    if call.when == "call" and call.excinfo is not None:
        bots = item.stash.get(RUNNING_BOTS, [])
        while bots:
            bots.pop().stop()


@pytest.fixture
def start(api: FakeBotAPI, tmp_path: Path, index_dir: Path, engine: Any,
          request: pytest.FixtureRequest) -> Iterator[Callable[..., RunningBot]]:
    """start(**settings) → a running bot against ``api``; stopped at teardown.

    ``engine_`` serves with another engine, ``store`` False serves without a feedback store, ``store_``
    serves with that store, ``poll_timeout`` is the long-polling timeout (seconds).
    """
    from bot.telegram.wiring import build_bot

    started: list[RunningBot] = []
    request.node.stash[RUNNING_BOTS] = started

    def run(webhook: dict[str, Any] | None = None, engine_: Any = None, store: bool = True,
            store_: Store | None = None, poll_timeout: float = 1.0, **changes: Any) -> RunningBot:
        settings = bot_settings(api, tmp_path, Path(changes.pop("index_dir", index_dir)), **changes)
        feedback = store_ if store_ is not None else Store(settings) if store else None
        running = RunningBot(build_bot(settings, engine_ or engine, feedback), feedback)
        started.append(running)
        return running.start(webhook, poll_timeout)

    yield run
    while started:
        started.pop().stop()
