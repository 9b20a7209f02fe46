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
from .text import SENTENCE_END_MARKS

MEMORY_KEY = "last_question"  # in the chat's memory: {"subject": [...], "question": "…", "at": seconds}

# where a message has more than one question: after a question mark, a full stop or semicolon, a newline
_QUESTION_BREAK = re.compile(f"(?<=[{SENTENCE_END_MARKS}\n])")
# how a piece of a message asks (a story's statements do not): question marks and question words
_ASKING = re.compile(r"[？?]|多少|几|什么|啥|怎么|怎样|如何|哪|谁|何|吗|呢|是否|能否|有没有|是不是|可不可以|能不能")
_CLAUSE_BREAK = re.compile(r"(?<=[，,、：:])")
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
            return {"question": "", "answered": False, "answer": "", "figure": None, "passages": [], "figures": [],
                    "sources": [], "reason": "smalltalk", "intent": self.intent, "reply": self.text}
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


def _asks(piece: str) -> bool:
    return bool(_ASKING.search(normalize_query(piece)))


def _from_its_question(piece: str, long_chars: int) -> str:
    """A long piece that ends in a question after a story told in clauses (…住院花了二十多万，家里很困难，大病保险
    能报多少): the question, from the first clause that asks of something. A clause that asks of nothing (不知道
    具体怎么样) is the story's, unless the question's subject stands only before it (温州的城市书房，一共有多少家)."""
    if len(piece) <= long_chars:
        return piece
    clauses = _CLAUSE_BREAK.split(piece)
    asking = [i for i, clause in enumerate(clauses) if _asks(clause)]
    if not asking:
        return piece
    named: dict[int, bool] = {}  # each clause read for a subject once, as the look goes back (a long message of
    # clauses naming nothing, 然后，然后，…有多少, took 16 s when every step read all that followed again)

    def names(i: int) -> bool:
        if i not in named:
            named[i] = bool(subject_words(normalize_query(clauses[i])))
        return named[i]

    first = next((i for i in asking if names(i)), asking[-1])
    first = next((i for i in range(first, -1, -1) if names(i)), 0)  # the subject may stand only before it
    return "".join(clauses[first:]).strip() or piece


def split_questions(message: str, limit: int = 0, long_chars: int = 60) -> list[str]:
    """The questions of one message, in order (the first ``limit`` when it is set), without a greeting in
    front, control and invisible characters dropped. Pieces with less than two characters of words in them
    (？？, 😀, the b of <b>) are no questions; where some pieces ask and others only tell (a story, then the
    question), the telling ones are the story, not questions, and a long piece is read from its question."""
    text = _GREETING_PREFIX.sub("", message.strip(), count=1) or message.strip()
    pieces = [clean(p) for p in _QUESTION_BREAK.split(text) if len(_fold_chat(p)) >= 2]
    asking = [p for p in pieces if _asks(p)]
    questions = [_from_its_question(p, long_chars) for p in asking] if asking else pieces
    return (questions[:limit] if limit else questions) or [message]


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
    asked = normalize_query(str(previous.get("question", "")))
    if substitute and asked and not _asks(substitute.group(1)):  # 那苍南呢: the last question, of 苍南
        return _asked_of(asked, substitute.group(1), own or [(substitute.group(1), "thing")], earlier)
    new_kinds = {kind for _, kind in own}
    kept = [w for w, k in earlier if k not in new_kinds]
    return " ".join([question, *kept]).strip()


def _asked_of(asked: str, subject: str, own: list[tuple[str, str]], earlier: list[tuple[str, ...]]) -> str:
    """The last question (瑞安金融专员发了多少贷款) asked of a new subject (苍南): the old subject of the same kind
    is replaced (a place by a place, other places dropped; a thing replaces the first thing only, so what was
    asked of it stays: 大病保险报销比例 → 托育报销比例); with no kind in common, the new subject comes first."""
    kinds = {kind for _, kind in own}
    same = [w for w, k in earlier if k in kinds and w in asked]
    if not same:
        return f"{subject}{asked}"
    replaced = asked.replace(same[0], subject, 1)
    if "thing" not in kinds:
        for word in same[1:]:
            replaced = replaced.replace(word, "")
    return replaced


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
                              "question": asked, "lead": answer.lead, "at": self.clock()}

    def ask(self, question: str, memory: MutableMapping[str, Any]) -> Answer:
        """One question in the chat's context: asked alone when it stands alone or its context is declined
        while it alone is answered."""
        previous = self._recent(memory)
        asked = in_context(question, previous)
        # a new subject for the last question (那苍南呢) must not get the last answer again: that one is not about it
        substitute = _SUBSTITUTE.match(question.strip())
        switched = previous is not None and asked != question and substitute is not None and not _asks(
            substitute.group(1))
        answer = self.engine.answer(asked, repeat_of=str(previous.get("lead", "")) if previous and switched else "")
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
        limit = int(self.settings.max_questions_per_message)
        questions = split_questions(message, long_chars=int(self.settings.long_question_chars))
        if len(message) > self.settings.max_question_chars and len(questions) > 1:
            questions = [message]  # a message over the length limit is one question, cut (the reply says so)
        asked, left_out = questions[:limit], questions[limit:]
        answers = [self.ask(q, memory) for q in asked]
        note = localized([Span(f"（这条消息里有 {len(questions)} 个问题，我回答了前 {limit} 个；没有回答的是："
                               + "、".join(f"“{q}”" for q in left_out) + "。请分开再问。）")], traditional) \
            if left_out else []
        questions = asked
        if len(answers) == 1:
            return Response("answer", answers[0].spans + ([Span("\n\n"), *note] if note else []), answers,
                            answers[0].traditional)
        spans: list[Span] = []
        for number, (question, answer) in enumerate(zip(questions, answers), 1):
            spans += localized([Span(f"{number}. {question}\n", "strong")], traditional)
            spans += answer.spans + [Span("\n\n")]
        return Response("answer", spans + note, answers, traditional)
