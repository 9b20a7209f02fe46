"""Every failure the bot can explain in one message: one base, caught once by the command line and once by
``serve``, so a new kind of failure never needs a new ``except`` somewhere else.

A ``BotError``'s message is written for the person at the terminal: it names the file, setting or index and
says what to do. It never holds a secret (the token is read from the environment and never put in one).
"""

from __future__ import annotations


class BotError(Exception):
    """A failure with a message for the user; ``lines`` is how the command line prints it."""

    @property
    def lines(self) -> list[str]:
        return [str(self)]


class ConfigError(BotError):
    """A settings file or environment value that cannot be used; the message says which and why."""


class KnowledgeError(BotError):
    """Content that cannot be used; ``problems`` lists every 'file: field: what is wrong' found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    @property
    def lines(self) -> list[str]:
        return ["the knowledge files have problems:", *(f"  {problem}" for problem in self.problems)]


class IndexLoadError(BotError):
    """The index is missing, unreadable or does not fit the settings; the message says what to do."""


class DamagedBuildError(IndexLoadError):
    """An index build whose files are missing, truncated, altered or unreadable (an older intact one may serve)."""


class EmbeddingError(BotError):
    """The configured embedding model cannot be loaded or used."""


class ReadError(BotError):
    """A file the importer cannot read; the message names the file and why."""


class ArticleImportError(BotError):
    """An import that would lose or clash with content; the message says what to do instead."""


class ArticleRemoveError(BotError):
    """A removal that cannot go ahead (no such article, not confirmed); the message says what to do."""


class FeedbackStoreError(BotError):
    """The database cannot be opened or used (the message says which file and why)."""


class SquadError(BotError, ValueError):
    """A file that is not SQuAD-shaped; the message names the file and the field."""


class SheetError(BotError):
    """A spreadsheet or batch line that cannot be read or written (``ask --in/--out``); the message names the file
    and what is wrong (for a missing question column: the headers that are there)."""
