"""A chat, not a search box: small talk, several questions in one message, and follow-up questions.

A message is read in three steps. Small talk (你好, 谢谢, 你是谁, 怎么用) gets a short reply and never reaches
the search. Otherwise the message is split into its questions (城市书房有多少家？托位新增多少个？), each answered.
A question that does not name its own subject (接待了多少人次？ 以前是多少？ 这个是哪一年的？) or says it refers
to the last one (那苍南呢？) is asked together with the subject of the chat's previous question; one that names
its own subject stands alone. The caller keeps each chat's memory (a dict: Telegram's chat_data, which
persistence keeps across restarts; a plain dict in the terminal), so this module holds no state of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from .config import Settings
from .engine import Engine
from .normalize import clean, looks_traditional, normalize_query
from .render import Span, localized, plain
from .reply import Answer
from .subjects import subject_words, tagged

MEMORY_KEY = "last_question"  # in the chat's memory: {"subject": [...], "question": "…", "at": seconds}

# where a message has more than one question: after a question mark, a full stop or semicolon, a newline
_QUESTION_BREAK = re.compile(r"(?<=[？?！!。；;\n])")
# what small talk is compared without: punctuation, spaces, emoji and symbols, sentence-final particles
_NOT_WORDS = re.compile(r"[\W_]+")
_PARTICLES = re.compile(r"[啊呀吖哈嘛呢吧哦噢喔啦嘞咯呗]+$")
_GREETING_PREFIX = re.compile(
    r"^(?:你好|您好|hi|hello|哈喽|嗨|请问|麻烦问一下|问一下|我想问一下|我想问)[\s,，!！、:：]*")
# a question that says it refers to the last one: 那苍南呢, 这个是哪一年的, 它, 其中, 以前/原来是多少
_REFERS_BACK = re.compile(r"^(?:那|这|还有|另外)|呢[？?]*$|这个|那个|这些|那些|它|其中|以前|之前|原来|原先|此前|后来")
# "那X呢": X is the new subject, put in place of the last question's subject of its kind
_SUBSTITUTE = re.compile(r"^(?:那|那么|还有)?(.{1,12}?)(?:呢|怎么样|如何)[？?]*$")


@dataclass
class Response:
    """The reply to one message: small talk or the answers to its questions, as one list of spans."""

    kind: Literal["answer", "smalltalk"]
    spans: list[Span]
    answers: list[Answer] = field(default_factory=list)
    traditional: bool = False
    intent: str = ""  # which small talk ("greeting", "thanks", …); "" for answers

    @property
    def text(self) -> str:
        return plain(self.spans)

    def to_json(self) -> dict[str, Any]:
        """The batch interface: one answer's fields (the first, with every one under ``answers`` when the
        message held several questions), or ``reason`` "smalltalk"; ``reply`` is always the whole reply."""
        if not self.answers:
            return {"question": "", "answered": False, "answer": "", "passages": [], "figures": [], "sources": [],
                    "reason": "smalltalk", "intent": self.intent, "reply": self.text}
        data = self.answers[0].to_json()
        if len(self.answers) > 1:
            data["answers"] = [answer.to_json() for answer in self.answers]
        data["reply"] = self.text
        return data


@lru_cache(maxsize=1)
def _smalltalk() -> tuple[dict[str, str], dict[str, str]]:
    """(folded message → intent, intent → reply) from the packaged smalltalk.yaml."""
    data = yaml.safe_load(resources.files("bot").joinpath("smalltalk.yaml").read_text(encoding="utf-8"))
    said, replies = {}, {}
    for intent, entry in data["intents"].items():
        replies[intent] = entry["reply"]
        said.update({_fold_chat(text): intent for text in entry["say"]})
    return said, replies


def _fold_chat(text: str) -> str:
    return _PARTICLES.sub("", _NOT_WORDS.sub("", normalize_query(str(text))))


def smalltalk_intent(message: str) -> str:
    """The small-talk intent of a whole message ("" when it is a question or anything else)."""
    said, _ = _smalltalk()
    return said.get(_fold_chat(message), "")


def split_questions(message: str, limit: int) -> list[str]:
    """The questions of one message, in order (at most ``limit``; the rest joins the last), without a
    greeting in front, control and invisible characters dropped. Pieces with less than two characters of words
    in them (？？, 😀, the b of <b>) are no questions."""
    text = _GREETING_PREFIX.sub("", message.strip(), count=1) or message.strip()
    pieces = [clean(p) for p in _QUESTION_BREAK.split(text) if len(_fold_chat(p)) >= 2]
    if len(pieces) > limit:
        pieces = pieces[:limit - 1] + ["".join(pieces[limit - 1:])]
    return pieces or [message]


def in_context(question: str, previous: dict[str, Any] | None) -> str:
    """The question to search for: ``question`` itself, or with the subject of the chat's previous question
    when it refers back to it or names no subject of its own."""
    if not previous:
        return question
    own = subject_words(question)
    refers_back = bool(_REFERS_BACK.search(question.strip()))
    if own and not refers_back and any(kind != "time" for _, kind in own):
        return question  # names its own subject: not held back by the last question
    earlier = [tuple(pair) for pair in previous.get("subject", [])]
    substitute = _SUBSTITUTE.match(question.strip())
    if substitute and own:  # 那苍南呢: the new place replaces the old place; with no kind in common, everything
        kinds = {kind for _, kind in own}
        replaced = [(w, k) for w, k in earlier if k in kinds] or earlier
        kept = [w for w, k in earlier if (w, k) not in replaced]
        return " ".join([substitute.group(1), *kept, previous.get("rest", "")]).strip()
    new_kinds = {kind for _, kind in own}
    kept = [w for w, k in earlier if k not in new_kinds]
    return " ".join([question, *kept]).strip()


class Conversation:
    """Replies to chat messages over an Engine; each chat's memory is passed in by the caller."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def _recent(self, memory: MutableMapping[str, Any]) -> dict[str, Any] | None:
        last = memory.get(MEMORY_KEY)
        keep = 60 * float(self.settings.conversation_memory_minutes)
        if not last or keep <= 0 or self.clock() - float(last.get("at", 0)) > keep:
            return None
        return last

    def _remember(self, memory: MutableMapping[str, Any], asked: str, answer: Answer) -> None:
        """What a follow-up needs of an answered question: its subject, and the rest of it for 那X呢."""
        if not answer.answered:
            return
        subject = subject_words(asked)
        rest = "".join(w for w, f in tagged(asked) if f.startswith("v"))
        memory[MEMORY_KEY] = {"subject": [list(pair) for pair in subject], "rest": rest,
                              "question": asked, "at": self.clock()}

    def ask(self, question: str, memory: MutableMapping[str, Any]) -> Answer:
        """One question in the chat's context: asked alone when it stands alone or its context is declined
        while it alone is answered."""
        asked = in_context(question, self._recent(memory))
        answer = self.engine.answer(asked)
        if asked != question and not answer.answered and not _REFERS_BACK.search(question):
            alone = self.engine.answer(question)
            if alone.answered:
                asked, answer = question, alone
        self._remember(memory, asked, answer)
        answer.question = question
        return answer

    def respond(self, message: str, memory: MutableMapping[str, Any]) -> Response:
        traditional = looks_traditional(message[:self.settings.max_question_chars])
        intent = smalltalk_intent(message)
        if intent:
            _, replies = _smalltalk()
            text = replies[intent].format(scope=self.engine.state.source)
            return Response("smalltalk", localized([Span(text)], traditional), [], traditional, intent)
        # a message over the length limit is one question, cut (and the reply says so), not many
        limit = 1 if len(message) > self.settings.max_question_chars else int(self.settings.max_questions_per_message)
        questions = split_questions(message, limit)
        answers = [self.ask(q, memory) for q in questions]
        if len(answers) == 1:
            return Response("answer", answers[0].spans, answers, answers[0].traditional)
        spans: list[Span] = []
        for number, (question, answer) in enumerate(zip(questions, answers), 1):
            spans += localized([Span(f"{number}. {question}\n", "strong")], traditional)
            spans += answer.spans + [Span("\n\n")]
        return Response("answer", spans, answers, traditional)
