"""Whether a new question is one a pin answers: the pinned question or a paraphrase of it.

Three features compare the new question with each pinned one (``PIN_FEATURES``) and a logistic regression
fitted on paraphrase groups and off-topic questions (``python -m devtools fit-pins``, shipped as the reviewed
file ``bot/pins.json``) says how likely they ask the same; a pin answers when its log-odds reach the fitted
threshold. The table is built when an index is loaded (the pinned questions' vectors are computed then) and can
grow while the bot runs, so a pin added through ``/review`` answers the next asker without a rebuild.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .pins import ResolvedPin, same_question
from .ranking import LinearModel

PIN_FEATURES = (
    "cosine",  # cosine of the two questions' embeddings (each with its synonym and typo expansions)
    "bigrams",  # Dice overlap of their character bigrams (Chinese characters, letters and digits)
    "words",  # IDF-weighted Jaccard overlap of their words (jieba, as the search segments them)
    "passage_gap",  # the new question's cosine with the pinned passage minus its cosine with its nearest passage
    "foreign",  # IDF share of the new question's words the content has but neither pinned question nor passage
)
MODEL_FILE = "pins.json"
_CHARACTER = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")


@dataclass(frozen=True)
class PinModel:
    match: LinearModel
    threshold: float  # least log-odds for a pin to answer (fitted: no off-topic or other-passage pair reaches it)
    about: dict  # what it was fitted and checked on: for the reviewer, not used by the code
    # least log-odds for the pinned sentence to be quoted (fitted: no question about another fact of the pinned
    # section reaches it); between the two the pinned passage is shown and the answer step chooses the sentence
    sentence_threshold: float = 0.0

    def to_json(self) -> dict:
        return {"about": self.about, "match": self.match.to_json(), "threshold": round(self.threshold, 6),
                "sentence_threshold": round(self.sentence_threshold, 6)}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_pin_model(path: Path | None = None) -> PinModel:
    """The fitted model: ``path``, or the one shipped with the package."""
    where = str(path) if path else MODEL_FILE
    text = path.read_text(encoding="utf-8") if path else \
        resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        return PinModel(LinearModel.from_json(data["match"], PIN_FEATURES, f"{where}: match", "fit-pins"),
                        float(data["threshold"]), data.get("about", {}), float(data["sentence_threshold"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: not a pin model ({exc})") from None


@dataclass(frozen=True)
class PinnedQuestion:
    """What a question is compared on: its embedding, character bigrams and weighted words."""

    vector: np.ndarray
    bigrams: frozenset[str]
    words: dict[str, float]  # word → IDF
    content_words: frozenset[str]  # those of ``words`` the passages use (a place, a programme's name …)
    text: str  # the question folded, as its words are looked for


def bigrams(text: str) -> frozenset[str]:
    characters = _CHARACTER.findall(text.lower())
    return frozenset(a + b for a, b in zip(characters, characters[1:]))


def pair_features(new: PinnedQuestion, pinned: PinnedQuestion, passage: str, passage_dense: float,
                  nearest_dense: float) -> np.ndarray:
    """The PIN_FEATURES of a new question and a pinned one; ``passage``: the pinned passage's folded text,
    ``passage_dense`` / ``nearest_dense``: the new question's cosine with it and with its nearest passage."""
    shared = len(new.bigrams & pinned.bigrams)
    dice = 2 * shared / (len(new.bigrams) + len(pinned.bigrams)) if new.bigrams or pinned.bigrams else 0.0
    union = {**pinned.words, **new.words}
    total = sum(union.values())
    common = sum(w for word, w in union.items() if word in new.words and word in pinned.words)
    weight = sum(new.words.values())
    foreign = sum(w for word, w in new.words.items()
                  if word in new.content_words and word not in pinned.text and word not in passage)
    return np.array([float(new.vector @ pinned.vector), dice, common / total if total else 0.0,
                     passage_dense - nearest_dense, foreign / weight if weight else 0.0], dtype=np.float32)


@dataclass(frozen=True)
class PinMatch:
    """The pin that answers a question: its passage row, its sentence (None: the answer step chooses)."""

    pin: ResolvedPin
    score: float  # log-odds that the question asks what the pinned one asks
    quotes: bool  # close enough for the pinned sentence (sentence_threshold)

    @property
    def row(self) -> int:
        return self.pin.row

    @property
    def sentence(self) -> int | None:
        """The pinned sentence to quote; None: the answer step chooses within the passage."""
        return self.pin.sentence if self.quotes else None


@dataclass
class PinTable:
    """The pins of one loaded index with their questions' features; ``add`` is safe while others match."""

    model: PinModel
    passage: Callable[[int], str]  # a passage's folded text, by row (only pinned ones are read)
    entries: tuple[tuple[ResolvedPin, PinnedQuestion], ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pins(self) -> list[ResolvedPin]:
        return [pin for pin, _ in self.entries]

    def add(self, pin: ResolvedPin, question: PinnedQuestion) -> None:
        """A pin for the next question on; a pin of the same question replaces the old one."""
        with self._lock:  # a new tuple, swapped in whole: a question being matched sees the old or the new table
            self.entries = tuple(e for e in self.entries if not same_question(e[0].pin.question, pin.pin.question)) \
                + ((pin, question),)

    def match(self, question: PinnedQuestion, chunk_vectors: np.ndarray, nearest_dense: float) -> PinMatch | None:
        """The pin whose question is closest to ``question`` when it is close enough (the fitted threshold);
        ``chunk_vectors``: the passages' vectors, ``nearest_dense``: the question's cosine with its nearest."""
        entries = self.entries  # one consistent snapshot
        if not entries:
            return None
        pins = [pin for pin, _ in entries]
        dense = chunk_vectors[[p.row for p in pins]] @ question.vector
        x = np.vstack([pair_features(question, q, self.passage(p.row), float(d), nearest_dense)
                       for (p, q), d in zip(entries, dense)])
        scores = self.model.match.decision(x)
        best = int(np.argmax(scores))
        if scores[best] < self.model.threshold:
            return None
        return PinMatch(pins[best], float(scores[best]), bool(scores[best] >= self.model.sentence_threshold))
