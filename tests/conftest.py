"""Shared fixtures: settings pointing at temporary folders, a deterministic fake embedder, built indexes."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import embedding
from bot.config import Settings, load_settings
from bot.embedding import Embedder
from bot.index import build_index
from bot.store import Store
from bot.telegram_app import LOOP_THREAD
from devtools.fakeapi import FakeBotAPI, parse_telegram_html

pytest_plugins = ["store_fixtures"]  # the store on both backends, PostgreSQL started for the session

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAKE_MODEL = "test-hash"


class HashingModel:
    """Deterministic stand-in for a sentence-transformers model: hashed character bigrams, 64 dimensions.

    Similar texts share bigrams and so get similar vectors, which is enough for tests of building,
    caching and loading without paying for a real model.
    """

    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for i in range(max(1, len(text) - 1)):
                digest = hashlib.blake2b(text[i:i + 2].encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)


FAKE_INSTANCES: list[HashingModel] = []


def _fake_factory(threads: int) -> HashingModel:
    model = HashingModel()
    FAKE_INSTANCES.append(model)
    return model


embedding.register_model(FAKE_MODEL, _fake_factory)


def make_settings(tmp: Path, knowledge: Path = KNOWLEDGE, **overrides: object) -> Settings:
    """Settings isolated from the developer's environment and files, rooted in ``tmp``."""
    base = load_settings(path=None, environ={})
    values = {"knowledge_dir": str(knowledge), "index_dir": str(tmp / "index"),
              "feedback_db": str(tmp / "feedback.sqlite3"), "heartbeat_file": str(tmp / "heartbeat")}
    values.update(overrides)
    return base.replace(**values)


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
    """A writable copy of the real knowledge folder, for tests that edit or break content."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


# ---- the Telegram bot end to end: the real Application against devtools.fakeapi.FakeBotAPI -----------------
# Shared by the tests in tests/e2e and tests/tooling. The model, the index and the engine are loaded once per
# session (the real bundled model over the real knowledge).

USER = 731842659  # a distinctive id: it must never show up in the feedback database or the logs
ADMIN = 52011314


def base_settings(**changes: Any) -> Settings:
    return load_settings(environ={}).replace(**{"knowledge_dir": str(KNOWLEDGE), **changes})


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


def bot_settings(api: FakeBotAPI, tmp_path: Path, index_dir: Path, **changes: Any) -> Settings:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url})
    values: dict[str, Any] = dict(knowledge_dir=str(KNOWLEDGE), index_dir=str(index_dir),
                                  feedback_db=str(tmp_path / "data" / "feedback.sqlite3"),
                                  conversation_store=str(tmp_path / "data" / "conversations.pickle"),
                                  heartbeat_file=str(tmp_path / "data" / "heartbeat"),
                                  telegram_retry_delay=0.05, admin_ids=str(ADMIN))
    values.update(changes)
    return settings.replace(**values)


class RunningBot:
    """An Application started with ``start_bot`` in its own thread's event loop."""

    def __init__(self, application: Any, store: Store | None) -> None:
        self.application = application
        self.store = store
        self.bot = application.bot_data["bot"]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=LOOP_THREAD, daemon=True)
        self.running = False

    def call(self, coroutine: Any, timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, webhook: dict[str, Any] | None = None, poll_timeout: float = 1.0) -> RunningBot:
        from bot.telegram_app import start_bot

        self.thread.start()
        self.call(start_bot(self.application, webhook=webhook, poll_interval=0.0, poll_timeout=poll_timeout))
        self.running = True
        return self

    def stop(self) -> None:
        from bot.telegram_app import stop_bot

        if self.running:
            self.running = False
            self.call(stop_bot(self.application))
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        self.loop.close()
        if self.store is not None:
            self.store.close()


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


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def start(api: FakeBotAPI, tmp_path: Path, index_dir: Path, engine: Any,
          request: pytest.FixtureRequest) -> Iterator[Callable[..., RunningBot]]:
    """start(**settings) → a running bot against ``api``; stopped at teardown.

    ``engine_`` serves with another engine, ``store`` False serves without a feedback store, ``store_``
    serves with that store, ``poll_timeout`` is the long-polling timeout (seconds).
    """
    from bot.telegram_app import build_application

    started: list[RunningBot] = []
    request.node.stash[RUNNING_BOTS] = started

    def run(webhook: dict[str, Any] | None = None, engine_: Any = None, store: bool = True,
            store_: Store | None = None, poll_timeout: float = 1.0, **changes: Any) -> RunningBot:
        settings = bot_settings(api, tmp_path, Path(changes.pop("index_dir", index_dir)), **changes)
        feedback = store_ if store_ is not None else Store(settings) if store else None
        running = RunningBot(build_application(settings, engine_ or engine, feedback), feedback)
        started.append(running)
        return running.start(webhook, poll_timeout)

    yield run
    while started:
        started.pop().stop()


def ok_count(api: FakeBotAPI, method: str) -> int:
    return sum(1 for c in api.calls(method) if c.ok)


def exchange(api: FakeBotAPI, send: Callable[[], Any], method: str = "sendMessage", n: int = 1,
             timeout: float = 10.0) -> list[dict[str, Any]]:
    """Do ``send`` and wait for ``n`` more successful ``method`` calls; their parameters."""
    before = ok_count(api, method)
    send()
    return [c.params for c in api.wait_for(method, count=before + n, timeout=timeout)[before:]]


def ask(api: FakeBotAPI, text: str, n: int = 1, **kwargs: Any) -> list[dict[str, Any]]:
    return exchange(api, lambda: api.send_text(text, **kwargs), n=n)


def plain(params: dict[str, Any]) -> str:
    """The text a user sees (validated as Telegram HTML when sent as HTML)."""
    if params.get("parse_mode") == "HTML":
        return parse_telegram_html(params["text"])[0]
    return params["text"]


def bold_texts(params: dict[str, Any]) -> list[str]:
    text, entities = parse_telegram_html(params["text"])
    encoded = text.encode("utf-16-le")
    return [encoded[2 * e["offset"]:2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in entities if e["type"] == "bold"]


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def assert_quiet(api: FakeBotAPI, chat_id: int, seconds: float = 0.3) -> None:
    """No message to ``chat_id`` within ``seconds``."""
    time.sleep(seconds)
    assert api.sent_messages(chat_id) == []
