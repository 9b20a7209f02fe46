"""What tests share besides fixtures: paths, settings, a fake embedder, and talking to the bot through the
fake Bot API server (``devtools.fakeapi.FakeBotAPI``). Fixtures and hooks are in ``conftest.py``."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings, load_settings
from bot.store import Store
from bot.telegram.base import BotCore
from bot.telegram.wiring import TelegramBot
from devtools.fakeapi import FakeBotAPI, parse_telegram_html
from devtools.harness import BackgroundBot

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "knowledge"  # the articles the bot ships with: real ones only
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECOND_ARTICLE = FIXTURES / "articles" / "water-saving-city"  # written for the tests, its figures illustrative


def _knowledge_for_tests() -> Path:
    """The shipped knowledge plus a second, made-up article, so that every feature is tested with several
    articles while the bot serves only real ones: a copy made once per test process, removed at its exit."""
    folder = Path(tempfile.mkdtemp(prefix="bot-tests-")) / "knowledge"
    shutil.copytree(SHIPPED, folder)
    shutil.copytree(SECOND_ARTICLE, folder / SECOND_ARTICLE.name)
    atexit.register(shutil.rmtree, folder.parent, True)
    return folder


KNOWLEDGE = _knowledge_for_tests()
FAKE_MODEL = "test-hash"

USER = 731842659  # a distinctive id: it must never show up in the feedback database or the logs
ADMIN = 52011314


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


FAKE_INSTANCES: list[HashingModel] = []  # every fake model made, so tests can count what was encoded


def fake_model(threads: int) -> HashingModel:
    """The factory registered as embedding model FAKE_MODEL (conftest.py)."""
    model = HashingModel()
    FAKE_INSTANCES.append(model)
    return model


def make_settings(tmp: Path, knowledge: Path = KNOWLEDGE, **overrides: object) -> Settings:
    """Settings isolated from the developer's environment and files, rooted in ``tmp``."""
    base = load_settings(path=None, environ={})
    values = {"knowledge_dir": str(knowledge), "index_dir": str(tmp / "index"),
              "feedback_db": str(tmp / "feedback.sqlite3"), "heartbeat_file": str(tmp / "heartbeat")}
    values.update(overrides)
    return base.replace(**values)


def base_settings(**changes: Any) -> Settings:
    return load_settings(environ={}).replace(**{"knowledge_dir": str(KNOWLEDGE), **changes})


# ---- the Telegram bot end to end: the real Application against devtools.fakeapi.FakeBotAPI -----------------


def bot_settings(api: FakeBotAPI, tmp_path: Path, index_dir: Path, **changes: Any) -> Settings:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url})
    values: dict[str, Any] = dict(knowledge_dir=str(KNOWLEDGE), index_dir=str(index_dir),
                                  feedback_db=str(tmp_path / "data" / "feedback.sqlite3"),
                                  conversation_store=str(tmp_path / "data" / "conversations.pickle"),
                                  heartbeat_file=str(tmp_path / "data" / "heartbeat"),
                                  telegram_retry_delay=0.05, admin_ids=str(ADMIN))
    values.update(changes)
    return settings.replace(**values)


class RunningBot(BackgroundBot):
    """A bot of a test, on its own thread's event loop, with its feedback store (closed when it stops)."""

    def __init__(self, bot: TelegramBot, store: Store | None) -> None:
        super().__init__(bot)
        self.store = store

    @property
    def bot(self) -> BotCore:
        return self.core

    def start(self, webhook: dict[str, Any] | None = None, poll_timeout: float = 1.0) -> RunningBot:
        super().start(webhook, poll_timeout)
        return self

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.store is not None:
                self.store.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


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
