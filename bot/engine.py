"""The ask path in one object: a loaded model and index → an Answer, with atomic reload.

The model is loaded once per process; an index can be swapped for a newer build while questions are being
answered: each question runs on the state it started with, and the new state replaces the old in a single
assignment, so no question sees half of each.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import faiss

from .config import Settings, available_cores
from .embedding import Embedder, load_embedder
from .errors import KnowledgeError
from .index import Index, check_current_build, load_index, read_manifest
from .knowledge import describe_content
from .pin_match import load_pin_model
from .pins import Pin, ResolvedPin, add_pin, load_pins, pin_files, resolve
from .reply import Answer, ReplyContext, compose
from .search import Searcher

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic collector off while the engine loads, then as it was. Loading (torch and
    sentence-transformers imported, the model, the index, jieba's dictionary) makes millions of objects that
    live as long as the engine: collecting while they are made frees nothing and cost a cold ``ask`` about
    0.8 s (docs/scale-study.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class State:
    index: Index
    searcher: Searcher
    source: str
    reply_context: ReplyContext
    pins_seen: tuple[tuple[str, int, int], ...] = ()  # the pins files (name, mtime, size) the pins came from


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        with _collection_paused():
            if embedder is None:
                check_current_build(settings)  # "run build first" in a moment, not after the model's ~9 s load
                embedder = load_embedder(settings)
            self.embedder = embedder
            # one question is one vector: FAISS's OpenMP threads add nothing to it, and on a small machine they
            # stall while another process holds a core (`python -m devtools bench --parts latency` shows it)
            faiss.omp_set_num_threads(settings.query_threads or available_cores())
            self._reload_lock = threading.Lock()
            self._state = self._load(fallback=True)
            if self._state.index.fallback:
                log.warning("%s", self._state.index.fallback)
            self.embedder.encode_query("预热")  # models load weights lazily: pay that here, not on the first user

    def _load(self, fallback: bool = False) -> State:
        """The current build loaded; at start-up (``fallback``) the newest intact one if it is damaged. A reload
        never falls back: the build being served is then the intact one, and it stays."""
        index = load_index(self.settings, self.embedder.model_id, fingerprint=self.embedder.fingerprint,
                           dimension=self.embedder.dimension, fallback=fallback)
        searcher = Searcher(index, self.embedder, self.settings)
        source = describe_content(index.content)
        context = ReplyContext({s.id: s for s in index.sections}, {a.id: a for a in index.content.articles}, source,
                               self.settings.max_question_chars, index.build_id,
                               bool(self.settings.abstain_without_figure))
        state = State(index, searcher, source, context)
        return self._with_pins(state)

    def _pins_seen(self) -> tuple[tuple[str, int, int], ...]:
        seen = []
        for path in pin_files(self.settings.path("knowledge_dir")):
            try:
                stat = path.stat()
            except OSError:
                continue
            seen.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(seen)

    def _with_pins(self, state: State) -> State:
        """``state`` with a new table of the reviewed pins in knowledge/, resolved against its passages; a pin
        whose text the loaded build lacks is left out (and named in the log; ``build --check`` names it too)."""
        seen = self._pins_seen()
        pins = load_pins(self.settings.path("knowledge_dir"))
        article_of = {s.id: s.article_id for s in state.index.sections}
        resolved, problems = resolve(pins, state.index.chunks, article_of)
        for problem in problems:
            log.warning("pin left out: %s", problem)
        table = state.searcher.pin_table(load_pin_model())
        for pin, question in zip(resolved, state.searcher.pinned_questions([r.pin.question for r in resolved])):
            table.add(pin, question)
        state.searcher.pins = table
        return replace(state, pins_seen=seen)

    def pin(self, pin: Pin) -> ResolvedPin:
        """Write ``pin`` into knowledge/ and answer from it from the next question on (no rebuild needed; the
        next build includes it). KnowledgeError if the loaded passages do not have its text."""
        state = self._state
        article_of = {s.id: s.article_id for s in state.index.sections}
        resolved, problems = resolve([pin], state.index.chunks, article_of)
        if problems:
            raise KnowledgeError(problems)
        with self._reload_lock:
            add_pin(self.settings.path("knowledge_dir"), pin)
            table = self._state.searcher.pins
            if table is not None:
                table.add(resolved[0], self._state.searcher.pinned_questions([pin.question])[0])
            self._state = replace(self._state, pins_seen=self._pins_seen())
        return resolved[0]

    @property
    def state(self) -> State:
        return self._state

    @property
    def index(self) -> Index:
        return self._state.index

    def answer(self, question: str, repeat_of: str = "") -> Answer:
        """The answer to ``question``; ``repeat_of``: a sentence it must not quote again (the last answer, when a
        follow-up asks the same of another subject)."""
        state = self._state  # one consistent index for the whole question, even if a reload happens meanwhile
        return compose(question, state.searcher.search(question), state.reply_context, repeat_of)

    def reload(self) -> bool:
        """Load the current build if it is newer, or the pins if their files changed (`python -m bot pin` while
        the bot runs); False if nothing changed. A bad build or pins file raises, and the old state stays."""
        with self._reload_lock:
            _, manifest = read_manifest(self.settings.path("index_dir"))
            if manifest.get("build_id") == self._state.index.build_id:
                return self._reload_pins()
            self._state = self._load()
            return True

    def reload_pins(self) -> bool:
        """Load the pins again if their files changed since (a stat of each: cheap enough for every
        auto-reload check); False if they did not. A malformed pins file raises, and the old pins stay."""
        with self._reload_lock:
            return self._reload_pins()

    def _reload_pins(self) -> bool:
        if self._pins_seen() == self._state.pins_seen:
            return False
        searcher = Searcher(self._state.index, self.embedder, self.settings, self._state.searcher.model)
        self._state = self._with_pins(replace(self._state, searcher=searcher))
        return True
