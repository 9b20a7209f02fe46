"""From the report to a pin in one step: the questions staff have to review and the passages that may answer them.

An unanswered or 👎 question is reviewed once: pinned to a passage (``python -m bot pin``, or one tap in the
Telegram ``/review``), or marked "none fits", which keeps it in the store as a content gap for the editors.
Reviewed questions do not come back. The candidates are the search's best passages for the question, pins
included, so the passage staff pick is one the bot already knows how to quote.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from .engine import Engine
from .store.report import one_line

CANDIDATES = 3  # passages offered for a question: the report's and /review's buttons
_START_CHARS = 30  # the first words of a passage shown beside its id


@dataclass(frozen=True)
class Candidate:
    """A passage that may answer a question: its id (what `pin` takes), heading and first words."""

    id: str
    heading: str
    start: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "heading": self.heading, "start": self.start}


@dataclass(frozen=True)
class ToReview:
    """One question waiting for review and why it is there."""

    question: str
    why: str  # "unanswered" or "downvoted"


def pin_command(question: str, passage_id: str) -> str:
    """The exact command that pins ``question`` to the passage, quoted for a POSIX shell."""
    return f"python -m bot pin {shlex.quote(question)} {shlex.quote(passage_id)}"


def candidates(engine: Engine, question: str, count: int = CANDIDATES) -> list[Candidate]:
    """The search's best passages for ``question``, whether or not the bot answered it."""
    result = engine.state.searcher.search(question, top_k=count)
    return [Candidate(h.chunk.id, h.chunk.heading, _start(h.chunk.text)) for h in result.hits[:count]]


def _start(text: str) -> str:
    text = one_line(" ".join(text.split()))
    return text if len(text) <= _START_CHARS else text[:_START_CHARS - 1] + "…"


def queue(report: dict[str, Any], skipped: frozenset[str] = frozenset()) -> list[ToReview]:
    """The report's questions not yet reviewed (nor skipped by this reviewer): unanswered first, most asked first,
    then the 👎 ones, each once."""
    seen: set[str] = set(skipped)
    waiting = []
    for why in ("unanswered", "downvoted"):
        for row in report.get(why, []):
            if row.get("reviewed") or row["normalized"] in seen:
                continue
            seen.add(row["normalized"])
            waiting.append(ToReview(row["question"], why))
    return waiting


def add_candidates(report: dict[str, Any], engine: Engine) -> None:
    """Each unreviewed row of the report with its candidate passages and the `pin` command of each."""
    for why in ("unanswered", "downvoted"):
        for row in report.get(why, []):
            if row.get("reviewed"):
                continue
            row["candidates"] = [c.to_json() | {"command": pin_command(row["question"], c.id)}
                                 for c in candidates(engine, row["question"])]
