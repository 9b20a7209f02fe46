"""The fitted part of the search: how passage features add up to a rank, and when a question is answerable.

Both are logistic regressions over a dozen features, fitted on data (``python -m devtools fit-ranking``)
and shipped as a small reviewed file, ``bot/ranking.json``: no weight or threshold is set by hand. The rank
score is the log-odds that a passage holds the answer; answerability is the probability that the best
passages answer the question at all (off-topic questions are what lowers it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

# per candidate passage; every feature is computed for every candidate by Searcher.candidates
PASSAGE_FEATURES = (
    "lexical",  # BM25 of the passage (title + text), divided by the best the question's tokens could reach
    "dense",  # cosine of question and passage embeddings (negative → 0)
    "sentence_lexical",  # the best sentence's BM25, same scale
    "sentence_dense",  # the best sentence's cosine
    "coverage",  # share of the question's tokens (IDF-weighted) the passage contains at all
    "sentence_coverage",  # the same for its best-covered sentence
    "title",  # share of the question's words (IDF-weighted) in the passage's title
    "lexical_gap",  # lexical minus the best candidate's: how far behind the leader it is
    "dense_gap",  # dense minus the best candidate's
    "number",  # the question asks an amount and the passage gives one
    "date",  # the question asks when and the passage gives a year, month or day
    "unit",  # the question names what it counts and the passage gives an amount in that unit
)
# per question, from its best passages. Features that scale with the size of the content (the margin to the
# second passage, BM25 and cosine levels) were tried and left out: fitted on encyclopedias, they misjudged
# questions over one short article.
ANSWER_FEATURES = (
    "top_score",  # the best passage's rank score (log-odds)
    "top_coverage",  # share of the question's tokens the best passage contains
    "top_sentence_coverage",  # the same for its best-covered sentence
    "word_coverage",  # share of the question's words found in the best three passages (synonyms, typos too)
    "rarest_missing",  # IDF of the rarest question word they lack, as a share of the rarest possible
)

MODEL_FILE = "ranking.json"


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Log-odds for each row of ``x`` (rows × features, in ``features`` order). Summed by numpy's own loop,
        not BLAS: OpenBLAS's kernels for such small products now and then raise the floating-point "invalid"
        flag on finite inputs (numpy#24067, OpenMathLib/OpenBLAS#1924), which numpy printed as a RuntimeWarning
        in about one `bot eval` of the held-out set in 20 (all inputs checked finite)."""
        return np.einsum("...j,j->...", (x - self.mean) / self.scale, self.weights) + self.bias

    def to_json(self) -> dict:
        return {"features": {name: {"mean": round(float(m), 6), "scale": round(float(s), 6),
                                    "weight": round(float(w), 6)}
                             for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights)},
                "bias": round(float(self.bias), 6)}

    @classmethod
    def from_json(cls, data: dict, expected: tuple[str, ...], where: str, refit: str = "fit-ranking") -> LinearModel:
        features = data.get("features") or {}
        if tuple(features) != expected:
            raise ValueError(f"{where}: features {list(features)} differ from the code's {list(expected)}; "
                             f"refit with `python -m devtools {refit}`")
        column = lambda key: np.array([float(features[n][key]) for n in expected], dtype=np.float32)  # noqa: E731
        scale = column("scale")
        if not np.all(scale > 0):
            raise ValueError(f"{where}: every feature scale must be positive")
        return cls(expected, column("mean"), scale, column("weight"), float(data["bias"]))


@dataclass(frozen=True)
class RankingModel:
    passage: LinearModel
    answerable: LinearModel
    about: dict  # what it was fitted on and how well it did: for the reviewer, not used by the code

    def to_json(self) -> dict:
        return {"about": self.about, "passage": self.passage.to_json(), "answerable": self.answerable.to_json()}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def parse_model(data: dict, where: str) -> RankingModel:
    try:
        return RankingModel(LinearModel.from_json(data["passage"], PASSAGE_FEATURES, f"{where}: passage"),
                            LinearModel.from_json(data["answerable"], ANSWER_FEATURES, f"{where}: answerable"),
                            data.get("about", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: not a ranking model ({exc})") from None


def load_model(path: Path | None = None) -> RankingModel:
    """The fitted model: ``path``, or the one shipped with the package."""
    if path is None:
        text = resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
        return parse_model(json.loads(text), MODEL_FILE)
    return parse_model(json.loads(path.read_text(encoding="utf-8")), str(path))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
