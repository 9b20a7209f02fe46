"""The ask path in one object: a loaded model and index → an Answer, with atomic reload.

The model is loaded once per process; an index can be swapped for a newer build while questions are being
answered: each question runs on the state it started with, and the new state replaces the old in a single
assignment, so no question sees half of each.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import faiss

from .config import Settings, available_cores
from .embedding import Embedder, load_embedder
from .index import Index, check_current_build, load_index, read_manifest
from .knowledge import describe_content
from .reply import Answer, ReplyContext, compose
from .search import Searcher

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class State:
    index: Index
    searcher: Searcher
    source: str
    reply_context: ReplyContext


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
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
        context = ReplyContext({s.id: s for s in index.sections}, source, self.settings.max_question_chars,
                               index.build_id, bool(self.settings.abstain_without_figure))
        return State(index, searcher, source, context)

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
        """Load the current build if it is newer; False if already loaded. A bad build raises, old one stays."""
        with self._reload_lock:
            _, manifest = read_manifest(self.settings.path("index_dir"))
            if manifest.get("build_id") == self._state.index.build_id:
                return False
            self._state = self._load()
            return True
