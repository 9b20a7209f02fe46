"""The one codec of button data: every kind the bot puts under a message is encoded, parsed and matched here.

Telegram gives a button at most 64 bytes of data and hands them back as the client sends them, so they may be
forged. Each kind has one regex, anchored at both ends, that is both its parser (anything else parses to None)
and its handler's pattern (``CallbackQueryHandler(callback, pattern=TOPIC)``), so a handler only ever sees
data it can parse and everything else reaches the "this button no longer works" handler. The encodings are
stable: buttons under messages sent before an upgrade keep working.

=====================  ============================================================================
``t:<id>`` ``t#<hash>``  a topic: the card of a section (ids that are not short plain ASCII are hashed)
``a:<id>`` ``a#<hash>``  an article's header in the /topics list
``tp:<page>``            a page of the /topics list
``topics``               the /topics list, offered under a decline
``ex:<n>``               the n-th example question under /start
``fb:±:<row>:<tag>``     a vote on an answer: its question's row id and a tag binding the vote to that row
                         and to the chat the answer went to (``FeedbackStore.vote_tag``)
``why:<reason>:<row>``   what was wrong with a 👎 answer
``rv:<q>:<id>`` ``rv:<q>#<hash>``  /review: pin the question (hash ``q`` of its report key) to a passage
``rs:<q>`` ``rn:<q>``    /review: skip the question; no passage fits it (a content gap)
=====================  ============================================================================
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
MAX_ROW_ID = 2 ** 63 - 1  # SQLite's largest row id

_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_ID = r"(?::([A-Za-z0-9_.-]{1,60})|#([0-9a-f]{16}))"  # a plain id, or the hash of one

TOPIC = re.compile(rf"t{_ID}\Z")
ARTICLE = re.compile(rf"a{_ID}\Z")
PAGE = re.compile(r"tp:([0-9]{1,4})\Z")
MENU = re.compile(r"topics\Z")
EXAMPLE = re.compile(r"ex:([0-9]{1,3})\Z")
VOTE = re.compile(r"fb:([+-]):([1-9][0-9]{0,18}):([A-Za-z0-9_-]{8})\Z")
REASON = re.compile(r"why:([a-z]{1,10}):([1-9][0-9]{0,18})\Z")
_QUESTION = r"([0-9a-f]{12})"  # a reviewed question: the hash of its report key (the text may not fit)
REVIEW_PIN = re.compile(rf"rv:{_QUESTION}(?::([A-Za-z0-9_.-]{{1,45}})|#([0-9a-f]{{16}}))\Z")
REVIEW_SKIP = re.compile(rf"rs:{_QUESTION}\Z")
REVIEW_NONE = re.compile(rf"rn:{_QUESTION}\Z")

MENU_DATA = "topics"


@dataclass(frozen=True)
class ItemRef:
    """A section or article a button names: by its id, or by a hash of an id that does not fit a button."""

    plain: str = ""
    hashed: str = ""

    def names(self, item_id: str) -> bool:
        return item_id == self.plain if self.plain else _id_hash(item_id) == self.hashed


@dataclass(frozen=True)
class Vote:
    vote: int  # +1 or -1
    question_id: int
    tag: str


@dataclass(frozen=True)
class Reason:
    reason: str  # a code of feedback.DOWN_REASONS (checked by the handler, which knows them)
    question_id: int


@dataclass(frozen=True)
class ReviewPin:
    """A /review tap on a candidate passage: which question (its hash) and which passage."""

    question: str  # question_hash of the question's report key
    passage: ItemRef


def _id_hash(item_id: str) -> str:
    return hashlib.blake2b(item_id.encode("utf-8"), digest_size=8).hexdigest()


def _ref_data(prefix: str, item_id: str) -> str:
    """``<prefix>:<id>`` when the id is short plain ASCII, else ``<prefix>#<hash of the id>``: within 64 bytes."""
    return f"{prefix}:{item_id}" if _PLAIN_ID.fullmatch(item_id) else f"{prefix}#{_id_hash(item_id)}"


def _ref(pattern: re.Pattern[str], data: str | None) -> ItemRef | None:
    match = pattern.match(data or "")
    return ItemRef(match.group(1) or "", match.group(2) or "") if match else None


def _number(pattern: re.Pattern[str], data: str | None) -> int | None:
    match = pattern.match(data or "")
    return int(match.group(1)) if match else None


def topic_data(section_id: str) -> str:
    return _ref_data("t", section_id)


def parse_topic(data: str | None) -> ItemRef | None:
    return _ref(TOPIC, data)


def article_data(article_id: str) -> str:
    return _ref_data("a", article_id)


def parse_article(data: str | None) -> ItemRef | None:
    return _ref(ARTICLE, data)


def page_data(page: int) -> str:
    return f"tp:{page}"


def parse_page(data: str | None) -> int | None:
    return _number(PAGE, data)


def example_data(index: int) -> str:
    return f"ex:{index}"


def parse_example(data: str | None) -> int | None:
    return _number(EXAMPLE, data)


def vote_data(vote: int, question_id: int, tag: str) -> str:
    return f"fb:{'+' if vote > 0 else '-'}:{question_id}:{tag}"


def parse_vote(data: str | None) -> Vote | None:
    match = VOTE.match(data or "")
    if match is None or int(match.group(2)) > MAX_ROW_ID:
        return None
    return Vote(1 if match.group(1) == "+" else -1, int(match.group(2)), match.group(3))


def reason_data(reason: str, question_id: int) -> str:
    return f"why:{reason}:{question_id}"


def parse_reason(data: str | None) -> Reason | None:
    match = REASON.match(data or "")
    if match is None or int(match.group(2)) > MAX_ROW_ID:
        return None
    return Reason(match.group(1), int(match.group(2)))


def question_hash(key: str) -> str:
    """What a /review button names its question by: a hash of the question's report key."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=6).hexdigest()


def review_pin_data(key: str, passage_id: str) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9_.-]{1,45}", passage_id)
    return f"rv:{question_hash(key)}" + (f":{passage_id}" if plain else f"#{_id_hash(passage_id)}")


def parse_review_pin(data: str | None) -> ReviewPin | None:
    match = REVIEW_PIN.match(data or "")
    return ReviewPin(match.group(1), ItemRef(match.group(2) or "", match.group(3) or "")) if match else None


def review_skip_data(key: str) -> str:
    return f"rs:{question_hash(key)}"


def review_none_data(key: str) -> str:
    return f"rn:{question_hash(key)}"


def parse_review_skip(data: str | None) -> str | None:
    match = REVIEW_SKIP.match(data or "")
    return match.group(1) if match else None


def parse_review_none(data: str | None) -> str | None:
    match = REVIEW_NONE.match(data or "")
    return match.group(1) if match else None
