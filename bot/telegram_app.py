"""The Telegram bot: a python-telegram-bot Application around the Engine, with feedback and admin commands.

``build_application(settings, engine, store)`` is the one place the bot is put together; ``python -m bot
serve``, the tests and the benchmark all use it (tests and benchmark against ``devtools.fakeapi.FakeBotAPI``
through the telegram_base_url setting). What users get:

* a text message in a private chat is a question; in groups the bot answers only when @mentioned, when
  the message replies to one of its messages, or via ``/ask 问题``. An *edited* question is answered again
  (a new reply quoting the edited message), so fixing a typo gets a fixed answer.
* the reply is the same as ``python -m bot chat`` gives (``bot.conversation``: small talk, several questions,
  follow-ups in the chat's context), rendered as Telegram HTML by ``bot.render``: the quotable sentence with
  the asked figure in bold, one passage under its bold heading, the source; split at sentence ends into
  messages of at most 4096 UTF-16 units; in Traditional characters when the question was.
* 👍/👎 buttons under each answer, stored by ``bot.feedback``; abstentions offer the topics as buttons.
* ``/start`` ``/help`` ``/topics`` ``/about`` ``/ask``; admins (setting admin_ids) ``/reload`` ``/stats``.
* ``/start <section id>`` (a deep link ``t.me/<bot>?start=s8``, see ``bot.telegram_links``) opens that topic.
* after a 👎 the bot asks what was wrong (one tap, or a reply in words) and stores it with the vote;
  ``/feedback 文字`` stores a free comment. Button labels follow the user's script.
* inline mode (``@bot 问题`` in any chat): the quotable answer and its source as a result (``bot.telegram_inline``).
* "typing…" is shown while a question is answered.
* per-user sliding-window limits on questions and on updates of every kind (``bot.limits``); button data
  bounded and validated, votes bound to their chat (``bot.callbacks``); python-telegram-bot's
  AIORateLimiter for Telegram's limits; failed Bot API requests retried with back-off
  (``RetryingRateLimiter``); an error handler that logs and goes on.
  Every Bot API failure the bot recovers from is logged once as a warning: sends and button answers by
  ``RetryingRateLimiter``, getUpdates by ``on_error`` and ``PollingRequest``.

Answers are CPU-bound sync code: they run in a thread pool, so the event loop keeps polling and sending
while many users are served at once (setting telegram_concurrent_updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    InlineKeyboardMarkup,
    InlineQueryResultsButton,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)

from .callbacks import find_topic, parse_example, parse_vote
from .config import Settings, available_cores
from .conversation import Conversation, Response
from .engine import Engine
from .errors import BotError, ConfigError
from .feedback import DOWN_REASONS, FeedbackStore
from .heartbeat import beat
from .index import current_build
from .knowledge import articles_of, bot_name, citation
from .limits import SlidingWindowLimiter, update_guard
from .logsafe import install_redaction, redact, secrets_of
from .normalize import looks_traditional, to_traditional
from .render import MAX_MESSAGE_UTF16, Span, telegram_messages
from .telegram_format import (
    examples_keyboard,
    feedback_keyboard,
    load_examples,
    prefers_traditional,
    reason_keyboard,
    topic_spans,
    topics_intro_spans,
    topics_keyboard,
)
from .telegram_inline import InlineCache, cache_key, inline_results
from .telegram_links import payload_section
from .telegram_send import CheckedRequest, PollingRequest, RetryingRateLimiter, describe_failure

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]
WHY_PROMPTS_KEPT = 20  # per chat: the latest "what was wrong?" prompts a reply in words is matched to

NO_TOKEN_MESSAGE = (
    "错误：没有设置机器人令牌（TELEGRAM_BOT_TOKEN）。\n"
    "error: no bot token: set the environment variable TELEGRAM_BOT_TOKEN to the token @BotFather gave you,\n"
    "e.g. `export TELEGRAM_BOT_TOKEN=123456:ABC...` then run `python -m bot serve` again.\n"
    "提示 / hint: 不连 Telegram 也能在终端里试用 / to try the bot without Telegram, run `python -m bot chat`."
)


# ==============================================================================================
# The bot
# ==============================================================================================


@dataclass
class Stats:
    started: float = field(default_factory=time.time)
    answered: int = 0
    abstained: int = 0
    no_figure: int = 0
    rate_limited: int = 0
    votes_up: int = 0
    votes_down: int = 0
    errors: int = 0


def _uptime(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days}天" if days else "") + f"{hours}小时{minutes}分{seconds}秒"


class TelegramBot:
    """The handlers and their state; ``build_application`` wires them into an Application."""

    def __init__(self, settings: Settings, engine: Engine, store: FeedbackStore | None,
                 examples: list[str]) -> None:
        self.settings = settings
        self.engine = engine
        self.conversation = Conversation(engine, settings)
        self.store = store
        self.examples = examples
        self.stats = Stats()
        self.limiter = SlidingWindowLimiter(int(settings.rate_limit_per_minute))
        self.update_limiter = SlidingWindowLimiter(int(settings.update_rate_limit_per_minute))
        self.fatal = ""  # why serving cannot go on (the token was rejected); serve then exits non-zero
        self.on_fatal: Callable[[], None] | None = None  # serve: stop run_polling / run_webhook
        self.heartbeat_file: Path | None = None  # set by serve: only a serving process leaves a heartbeat
        self._last_beat = 0.0
        self._beat_failed = False
        self.admins = frozenset(int(i) for i in settings.admin_ids)
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._log_salt = secrets.token_bytes(32)  # hashes user ids in logs when there is no store
        self.inline_cache = InlineCache(int(settings.inline_cache_size))
        self.message_limit = MAX_MESSAGE_UTF16  # tests lower it to see long replies split

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            threads = int(self.settings.answer_threads) or available_cores()
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="answer")
        return self._executor

    async def run_sync(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run blocking work (search, SQLite) in the answer threads, keeping the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def post_init(self, application: Application) -> None:
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # the menu is a convenience: serve without it
            log.warning("could not register the command menu: %s", exc)
        if not application.bot.supports_inline_queries:
            log.info("inline mode is off for this bot: send /setinline to @BotFather to let users ask "
                     "@%s 问题 in any chat", application.bot.username)
        sections = self.engine.index.sections  # warm up lazy model parts before users arrive
        await self.run_sync(self.engine.answer, sections[0]["title"] if sections else "你好")
        if self.store is not None:
            await self.run_sync(self.store.purge)  # retention at start-up (and daily, as the store writes)
        if self.settings.auto_reload_seconds > 0:
            self._tasks.append(asyncio.create_task(self._auto_reload(), name="auto-reload"))
        if str(self.settings.telegram_mode).lower() == "webhook":
            self._tasks.append(asyncio.create_task(self._listening(application), name="heartbeat"))

    async def post_shutdown(self, application: Application) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- liveness: the heartbeat `health --live` reads, and giving up when the token is rejected ------
    def heartbeat(self, state: str = "polling") -> None:
        """Touch the heartbeat file (at most every few seconds); a failure is logged once, never raised."""
        now = time.monotonic()
        if self.heartbeat_file is None or self.fatal \
                or now - self._last_beat < min(5.0, float(self.settings.heartbeat_max_age) / 4):
            return
        self._last_beat = now
        try:
            beat(self.heartbeat_file, state)
        except OSError as exc:
            if not self._beat_failed:
                log.error("cannot write the heartbeat file (setting heartbeat_file): %s", exc)
            self._beat_failed = True

    def token_rejected(self, status: int) -> None:
        """Telegram refused the token while polling: python-telegram-bot stops polling for good, so stop
        serving (a process that never polls again must not look alive)."""
        if self.fatal:
            return
        self.fatal = f"Telegram rejected the bot token (HTTP {status})"
        log.error("%s: polling has stopped; check $TELEGRAM_BOT_TOKEN (revoked or mistyped?). Stopping.", self.fatal)
        if self.heartbeat_file is not None:
            with contextlib.suppress(OSError):  # no longer serving: `health --live` fails from now on
                self.heartbeat_file.unlink(missing_ok=True)
        if self.on_fatal is not None:
            self.on_fatal()

    async def _listening(self, application: Application) -> None:
        """Webhook mode: a heartbeat while the webhook server runs."""
        while True:
            if application.updater is not None and application.updater.running:
                self.heartbeat("listening")
            await asyncio.sleep(min(30.0, float(self.settings.heartbeat_max_age) / 4))

    async def _auto_reload(self) -> None:
        """Load a new index build when the CURRENT pointer names another one (reading that one small file is
        the whole cost of a check); a broken build is logged once and the old one kept."""
        index_dir = self.settings.path("index_dir")
        broken = ""  # a build that failed to load is not tried again until the manifest changes
        last_problem = ""  # each problem is logged once, not every interval
        while True:
            await asyncio.sleep(float(self.settings.auto_reload_seconds))
            build_id = ""
            try:
                build = await self.run_sync(current_build, index_dir)  # the small pointer file only
                build_id = build.name if build is not None else ""
                if build_id in (self.engine.index.build_id, broken, ""):
                    continue
                if await self.run_sync(self.engine.reload):
                    log.info("auto reload: loaded index build %s", self.engine.index.build_id)
                last_problem = ""
            except Exception as exc:  # a missing or broken build: keep serving the old one
                problem = f"{build_id}: {exc}"
                if problem != last_problem:
                    log.error("auto reload: the new index cannot be loaded, still serving %s: %s",
                              self.engine.index.build_id, exc)
                broken, last_problem = build_id, problem

    # -- helpers ----------------------------------------------------------------------------------
    def hash_user(self, user_id: int) -> str:
        """Short salted hash of a user id for log lines (raw ids are never logged); the same hash as the
        feedback store's, so a log line can be matched with the database."""
        if self.store is not None:
            return self.store.log_hash(user_id)
        return hmac.new(self._log_salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]

    @staticmethod
    def _traditional(context: ContextTypes.DEFAULT_TYPE) -> bool:
        return bool(context.user_data.get("traditional")) if context.user_data is not None else False

    def _user_script(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """True for a Traditional user: as their last question was written, else as their Telegram language."""
        if context.user_data is not None and "traditional" in context.user_data:
            return bool(context.user_data["traditional"])
        user = update.effective_user
        return prefers_traditional(user.language_code if user is not None else None)

    async def _typing(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """Show "typing…" while a question is answered; a failure only loses the indicator."""
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.info("could not show the typing indicator: %s", exc)

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, parts: list[str],
                    markup: InlineKeyboardMarkup | None = None, reply_to: Message | None = None) -> None:
        """Send the parts in order; the keyboard goes under the last one, the first one quotes ``reply_to``."""
        for i, part in enumerate(parts):
            reply = ReplyParameters(reply_to.message_id, allow_sending_without_reply=True) \
                if reply_to is not None and i == 0 else None
            await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_parameters=reply,
                                           reply_markup=markup if i == len(parts) - 1 else None)

    async def _answer_query(self, update: Update, text: str | None = None) -> None:
        try:
            await update.callback_query.answer(text)
        except BadRequest as exc:  # too old (or already answered by a retried request): nothing to do
            log.info("could not answer a button press: %s", exc)

    # -- questions ---------------------------------------------------------------------------------
    def _respond_and_record(self, message: str, user_id: int, chat_id: int,
                            memory: MutableMapping[str, Any]) -> tuple[Response, int | None, str]:
        """The reply to a message in its chat's context; each question it held is recorded (small talk is not:
        it is no unanswered question). The row id and vote tag returned are the first answered question's,
        for the buttons (None, "" when the store kept none): the answer never depends on the store."""
        response = self.conversation.respond(message, memory)
        first_id, tag = None, ""
        if self.store is None:
            return response, first_id, tag
        for answer in response.answers:
            stored = answer.question[:self.settings.max_question_chars]
            try:
                question_id = self.store.record_question(
                    user_id, stored, answer.answered, answer.reason, [p.id for p in answer.passages],
                    answer.build or self.engine.index.build_id, shown=answer.lead or answer.reply)
                if answer.answered and first_id is None and question_id is not None:
                    first_id, tag = question_id, self.store.vote_tag(question_id, chat_id, stored)
            except Exception as exc:  # the store logs its own failures; anything else is logged here
                log.error("feedback store: could not record a question: %s: %s", type(exc).__name__, exc)
                return response, None, ""
        return response, first_id, tag

    async def answer_question(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
        message = update.effective_message
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None:
            return
        quote = message if message is not None and (chat.type != ChatType.PRIVATE or update.edited_message) \
            else None
        allowed, tell, wait = self.limiter.check(user.id)
        if not allowed:
            self.stats.rate_limited += 1
            log.info("rate limit: user %s asked too often", self.hash_user(user.id))
            if tell:
                text = f"你问得有点快，请休息一下，{max(1, round(wait))} 秒后再问吧。"
                await self._send(context, chat.id, [html.escape(text)], reply_to=quote)
            return
        # the worker thread gets a copy of the chat's memory: persistence pickles chat_data on the event loop
        memory = dict(context.chat_data or {})
        typing = asyncio.create_task(self._typing(context, chat.id))
        response, question_id, tag = await self.run_sync(self._respond_and_record, question, user.id, chat.id,
                                                         memory)
        if context.chat_data is not None:
            context.chat_data.update(memory)
        await typing  # the indicator goes out before the answer, never after it
        for answer in response.answers:
            if answer.answered:
                self.stats.answered += 1
            else:
                self.stats.abstained += 1
                self.stats.no_figure += answer.reason == "no_figure"
        if context.user_data is not None:
            context.user_data["traditional"] = response.traditional
        parts = telegram_messages(response.spans, self.message_limit)
        if response.kind == "smalltalk":
            markup = None
        elif any(answer.answered for answer in response.answers):
            markup = feedback_keyboard(question_id, tag, traditional=response.traditional) \
                if question_id is not None else None
        else:
            markup = topics_keyboard(self.engine.index.sections, response.traditional)
        await self._send(context, chat.id, parts, markup, reply_to=quote)

    def _group_question(self, message: Message, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """The question in a group message addressed to the bot (mention or reply), else None."""
        bot = context.bot
        text = message.text or ""
        mention = f"@{bot.username}".lower() if bot.username else None
        entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        mentioned = any((e.type == MessageEntity.MENTION and value.lower() == mention)
                        or (e.type == MessageEntity.TEXT_MENTION and e.user and e.user.id == bot.id)
                        for e, value in entities.items())
        replied = bool(message.reply_to_message and message.reply_to_message.from_user
                       and message.reply_to_message.from_user.id == bot.id)
        if not (mentioned or replied):
            return None
        if mention:
            text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
        return text.strip()

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        if message.chat.type == ChatType.PRIVATE:
            question: str | None = message.text
        else:
            question = self._group_question(message, context)
            if question is None:
                return  # group chatter not meant for the bot
        if not question.strip():
            await self._send(context, message.chat_id, [html.escape(f"请直接写出你的问题{self._example('，例如：')}")],
                             reply_to=message)
            return
        await self.answer_question(update, context, question)

    def _example(self, lead_in: str) -> str:
        """The first example question of the content, after ``lead_in``; "" when there is none."""
        return f"{lead_in}{self.examples[0]}" if self.examples else ""

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        parts = message.text.split(maxsplit=1)
        question = parts[1].strip() if len(parts) > 1 else ""
        if not question:
            usage = f"用法：/ask 你的问题{self._example('，例如 /ask ')}"
            await self._send(context, message.chat_id, [html.escape(usage)],
                             reply_to=message if message.chat.type != ChatType.PRIVATE else None)
            return
        await self.answer_question(update, context, question)

    async def on_non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.chat.type != ChatType.PRIVATE and not (
                message.reply_to_message and message.reply_to_message.from_user
                and message.reply_to_message.from_user.id == context.bot.id):
            return
        text = f"我只能看懂文字。请用文字发问题给我{self._example('，例如：')}"
        await self._send(context, message.chat_id, [html.escape(text)],
                         reply_to=message if message.chat.type != ChatType.PRIVATE else None)

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.chat.type == ChatType.PRIVATE:
            text = "没有这个命令。发 /help 看看我能做什么，或者直接提问。"
            await self._send(context, message.chat_id, [html.escape(text)])

    # -- commands -----------------------------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        if context.args and await self._open_deep_link(update, context, context.args[0]):
            return
        sections = self.engine.index.sections
        articles = articles_of(sections)
        lines = [Span(f"你好！我是{bot_name(sections)}。\n\n"), Span("我知道的内容来自")]
        for n, article in enumerate(articles):
            lines += [Span("、" if n else ""), Span(citation(article["headline"], article["authors"]), "strong")]
        lines.append(Span(f"，共 {len(sections)} 部分。\n\n直接把问题发给我，我会找出文中的原话和数字，并注明出处。"))
        lines.append(Span("\n\n/topics 看文章讲了哪些方面，/help 查看用法。"))
        if self.examples:
            lines.append(Span("\n\n可以先试试下面这些问题："))
        markup = examples_keyboard(self.examples) if self.examples else None
        await self._send(context, chat.id, telegram_messages(lines), markup)

    async def _open_deep_link(self, update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> bool:
        """``/start <payload>`` from a link: that topic's card; False for a payload naming no loaded topic
        (the caller greets as usual)."""
        sections = self.engine.index.sections
        section_id = payload_section(payload, (s["id"] for s in sections))
        section = next((s for s in sections if s["id"] == section_id), None)
        if section is None:
            log.info("start link to an unknown topic (%d characters): greeting instead", len(payload))
            return False
        spans = topic_spans(section, int(self.settings.topic_summary_chars), int(self.settings.topic_max_figures),
                            self._user_script(update, context))
        await self._send(context, update.effective_chat.id, telegram_messages(spans))
        return True

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        example = self._example("，例如：")
        text = ("用法：\n"
                f"· 私聊时直接发问题{example}\n"
                "· 在群里请 @我、回复我的消息，或者用 /ask 问题\n"
                "· 改了发出的问题，我会按改过的再回答一次\n"
                "· 每个回答下面有 👍/👎，告诉我们答得好不好\n"
                f"· 在任何聊天里输入 @{context.bot.username} 问题，可以把答案直接发给别人\n\n"
                "命令：\n"
                "/topics 文章讲了哪些方面\n/about 内容来源和索引版本\n/ask 提问（群里用）\n"
                "/feedback 意见 给编辑留言\n/help 本帮助\n\n"
                "回答只来自文章原文；文章没讲到的，我会直说。繁体提问，就用繁体回答。")
        await self._send(context, chat.id, [html.escape(text)])

    async def on_topics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        traditional = self._traditional(context)
        sections = self.engine.index.sections
        await self._send(context, chat.id, telegram_messages(topics_intro_spans(sections, traditional)),
                         topics_keyboard(sections, traditional))

    async def on_topics_page(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """◀/▶ under /topics: show another page of the same list in the same message."""
        query = update.callback_query
        match = re.fullmatch(r"tp:([0-9]{1,4})", query.data or "")
        await self._answer_query(update)
        if match is None or query.message is None:
            return
        markup = topics_keyboard(self.engine.index.sections, self._traditional(context), int(match.group(1)))
        try:
            await query.edit_message_reply_markup(markup)
        except BadRequest as exc:  # "message is not modified": the page shown already
            log.debug("topics page not changed: %s", exc)

    async def on_about(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        manifest = self.engine.index.manifest
        sections = self.engine.index.sections
        articles = articles_of(sections)
        spans = [Span("内容来源：", "strong"), Span("\n")]
        for article in articles:
            details = "，".join(x for x in (article["source"], article["date"], article["url"]) if x)
            spans.append(Span(f"· {citation(article['headline'], article['authors'])}"
                              + (f"（{details}）" if details else "") + f"，{len(article['sections'])} 部分\n"))
        spans += [Span(f"共 {len(articles)} 篇文章、{manifest.get('section_count', len(sections))} 部分，"
                       f"{manifest.get('chunk_count', '?')} 段原文。\n"),
                  Span("索引版本：", "strong"),
                  Span(f"{manifest.get('build_id', '?')}（建于 {manifest.get('built_at', '?')}，"
                       f"模型 {manifest.get('model_id', '?')}）\n\n"),
                  Span("回答都引自原文并注明出处；文章没讲到的问题，我不会编造答案。")]
        await self._send(context, chat.id, telegram_messages(spans))

    async def _is_admin(self, update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> bool:
        user = update.effective_user
        if user is not None and user.id in self.admins:
            return True
        log.warning("refused /%s from a non-admin user %s", command,
                    self.hash_user(user.id) if user is not None else "unknown")
        chat = update.effective_chat
        if chat is not None:
            await self._send(context, chat.id, [html.escape(f"抱歉，/{command} 只有管理员可以用。")])
        return False

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self._is_admin(update, context, "reload"):
            return
        chat = update.effective_chat
        old = self.engine.index.build_id
        try:
            changed = await self.run_sync(self.engine.reload)
        except Exception as exc:  # a broken build: the old index keeps serving
            log.error("/reload: the new index cannot be loaded, still serving %s: %s", old, exc)
            text = f"新索引加载失败，继续使用旧索引 {old}。\n原因：{redact(str(exc), secrets_of(self.settings))}"
        else:
            build_id = self.engine.index.build_id
            log.info("/reload: %s", f"loaded index build {build_id}" if changed else "index already current")
            text = f"已加载新索引 {build_id}" if changed else f"已是最新（索引 {build_id}）"
        await self._send(context, chat.id, [html.escape(text)])

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self._is_admin(update, context, "stats"):
            return
        chat = update.effective_chat
        s = self.stats
        lines = [f"运行时间：{_uptime(time.time() - s.started)}",
                 f"本次运行：回答 {s.answered} 个问题，未回答 {s.abstained} 个（其中文中无此数字 {s.no_figure} 个），"
                 f"限速 {s.rate_limited} 次，出错 {s.errors} 次",
                 f"本次运行的反馈：👍 {s.votes_up}  👎 {s.votes_down}"]
        if self.store is not None:
            try:
                totals = await self.run_sync(self.store.totals)
                lines.append(f"数据库累计：问题 {totals['questions']} 个，已回答 {totals['answered']} 个，"
                             f"👍 {totals['up']}  👎 {totals['down']}")
            except Exception as exc:
                log.error("/stats: cannot read the feedback database: %s", exc)
                lines.append("数据库累计：读取失败（详见日志）")
        manifest = self.engine.index.manifest
        lines.append(f"索引：{manifest.get('build_id')}（{manifest.get('chunk_count')} 段，"
                     f"建于 {manifest.get('built_at')}）")
        await self._send(context, chat.id, [html.escape("\n".join(lines))])

    # -- buttons ---------------------------------------------------------------------------------------
    async def on_feedback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        pressed = parse_vote(query.data or "")
        if pressed is None or self.store is None or query.message is None:
            await self._answer_query(update, "这个按钮已失效")
            return
        vote, question_id = pressed.vote, pressed.question_id
        # only from the chat the answer went to: the tag binds the row to that chat
        result = await self.run_sync(self.store.vote, question_id, query.from_user.id, vote,
                                     query.message.chat.id, pressed.tag)
        if not result.stored:
            await self._answer_query(update, "这条回答太旧了，无法反馈" if result.problem == "unknown"
                                     else "反馈暂时没保存成功，请稍后再试")
            return
        if result.previous != vote:
            if vote == 1:
                self.stats.votes_up += 1
            else:
                self.stats.votes_down += 1
        await self._answer_query(update, "谢谢反馈！" if result.previous in (None, vote) else "已改好，谢谢反馈！")
        traditional = looks_traditional(getattr(query.message, "text", None) or "")
        if query.message is not None:
            try:
                await query.edit_message_reply_markup(feedback_keyboard(question_id, pressed.tag, chosen=vote,
                                                                        traditional=traditional))
            except BadRequest as exc:  # "message is not modified" when the same button is pressed again
                log.debug("feedback keyboard not edited: %s", exc)
        if vote == -1 and result.previous != -1:
            await self._ask_what_was_wrong(update, context, question_id, traditional)

    async def _ask_what_was_wrong(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question_id: int,
                                  traditional: bool) -> None:
        """After a 👎: one-tap reasons under a prompt; a reply to the prompt in words is stored too."""
        query = update.callback_query
        answer = query.message
        chat_id = answer.chat.id if answer is not None else query.from_user.id
        quote = ReplyParameters(answer.message_id, allow_sending_without_reply=True) \
            if answer is not None and answer.chat.type != ChatType.PRIVATE else None  # which answer, in a group
        text = "哪里不对？点一下下面的按钮，或者回复这条消息写几个字。"
        message = await context.bot.send_message(
            chat_id, html.escape(to_traditional(text) if traditional else text), parse_mode=ParseMode.HTML,
            reply_markup=reason_keyboard(question_id, traditional=traditional), reply_parameters=quote)
        self._remember_prompt(context, message.message_id, question_id)

    @staticmethod
    def _remember_prompt(context: ContextTypes.DEFAULT_TYPE, message_id: int, question_id: int) -> None:
        if context.chat_data is None:
            return
        prompts: dict[int, int] = context.chat_data.setdefault("why_prompts", {})
        prompts[message_id] = question_id
        while len(prompts) > WHY_PROMPTS_KEPT:
            del prompts[next(iter(prompts))]

    async def on_reason(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on a reason under the "what was wrong?" prompt: stored with the user's 👎."""
        query = update.callback_query
        match = re.fullmatch(r"why:([a-z]{1,10}):([1-9][0-9]{0,17})", query.data or "")
        if match is None or match.group(1) not in DOWN_REASONS or self.store is None:
            await self._answer_query(update, "这个按钮已失效")
            return
        reason, question_id = match.group(1), int(match.group(2))
        traditional = looks_traditional(getattr(query.message, "text", None) or "")
        stored = await self.run_sync(self.store.explain_vote, question_id, query.from_user.id, reason)
        if not stored:
            await self._answer_query(update, "请先在回答下面点 👎，再说哪里不对")
            return
        thanks = "谢谢！想多说几句，就回复这条消息。" if reason == "other" else "谢谢，已记下！"
        await self._answer_query(update, to_traditional(thanks) if traditional else thanks)
        if query.message is not None:
            try:
                await query.edit_message_reply_markup(reason_keyboard(question_id, reason, traditional))
            except BadRequest as exc:  # the same reason tapped again
                log.debug("reason keyboard not edited: %s", exc)

    async def on_reason_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply in words to a "what was wrong?" prompt: stored with the 👎 and not taken as a question.
        Any other message goes on to the usual handlers."""
        message = update.effective_message
        user = update.effective_user
        prompts = context.chat_data.get("why_prompts", {}) if context.chat_data is not None else {}
        replied = message.reply_to_message if message is not None else None
        if user is None or replied is None or replied.message_id not in prompts or not (message.text or "").strip():
            return
        question_id = prompts[replied.message_id]
        stored = self.store is not None and await self.run_sync(
            self.store.explain_vote, question_id, user.id, "", message.text.strip())
        text = "谢谢，你说的我们记下了，会用来改进回答。" if stored else "抱歉，没能记下（请先在回答下面点 👎）。"
        traditional = looks_traditional(message.text)
        await self._send(context, message.chat_id, [html.escape(to_traditional(text) if traditional else text)],
                         reply_to=message)
        raise ApplicationHandlerStop

    async def on_comment(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/feedback 文字``: a free comment for the editors, stored with the hashed user."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text:
            return
        parts = message.text.split(maxsplit=1)
        comment = parts[1].strip() if len(parts) > 1 else ""
        traditional = looks_traditional(comment) or self._user_script(update, context)
        if not comment:
            text = "用法：/feedback 你的意见，例如 /feedback 希望多讲讲办事流程。"
        elif self.store is not None and await self.run_sync(self.store.add_comment, user.id, comment,
                                                            self.engine.index.build_id):
            text = "谢谢！你的意见已经记下，编辑会看到。"
        else:
            text = "抱歉，意见暂时没保存成功，请稍后再试。"
        await self._send(context, message.chat_id, [html.escape(to_traditional(text) if traditional else text)],
                         reply_to=message if message.chat.type != ChatType.PRIVATE else None)

    # -- inline mode ------------------------------------------------------------------------------------
    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``@bot 问题`` in any chat: the quotable answer as one result (cached); an empty query gets a hint."""
        query = update.inline_query
        question = " ".join(query.query.split())[:self.settings.max_question_chars]
        button = None
        if not question:
            results: list[Any] = []
            text = f"输入问题{self._example('，例如：')}（点这里私聊我）"
            button = InlineQueryResultsButton(
                to_traditional(text) if self._user_script(update, context) else text, start_parameter="inline")
        else:
            results = self.inline_cache.get(cache_key(question, self.engine.index.build_id))
            if results is None:
                answer = await self.run_sync(self.engine.answer, question)
                key = cache_key(question, answer.build or self.engine.index.build_id)
                results = inline_results(answer, key, self.engine.state.source)
                self.inline_cache.put(key, results)
        try:
            await query.answer(results, cache_time=int(self.settings.inline_cache_seconds), button=button)
        except BadRequest as exc:  # too old: the user typed on, a newer query is being answered
            log.info("could not answer an inline query: %s", exc)

    async def on_topic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        section = find_topic(query.data or "", self.engine.index.sections)
        if section is None:
            await self._answer_query(update, "这个主题已不在当前内容里")
            return
        await self._answer_query(update)
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        spans = topic_spans(section, int(self.settings.topic_summary_chars), int(self.settings.topic_max_figures),
                            self._traditional(context))
        await self._send(context, chat_id, telegram_messages(spans))

    async def on_example(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        index = parse_example(query.data or "")
        if index is None or not 0 <= index < len(self.examples):
            await self._answer_query(update, "这个按钮已失效")
            return
        await self._answer_query(update)
        await self.answer_question(update, context, self.examples[index])

    async def on_unknown_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer_query(update, "这个按钮已失效")

    # -- errors -------------------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log (the filter redacts secrets) and keep going; tell the user unless sending itself failed."""
        error = context.error
        if update is None and isinstance(error, Conflict):  # getUpdates refused: another poller or a webhook
            self.stats.errors += 1
            log.error("polling for updates (getUpdates) refused: %s. Another process is running this bot "
                      "with the same token, or a webhook is set; stop the other one", error)
            return
        if update is None and isinstance(error, TelegramError):  # getUpdates failed: the updater retries
            # (network errors, 5xx, malformed answers; timeouts and 429 are logged by PollingRequest)
            log.warning("polling for updates failed, retrying (getUpdates: %s)", describe_failure(error))
            return
        self.stats.errors += 1
        log.error("error while handling an update: %s: %s", type(error).__name__, error, exc_info=error)
        if isinstance(error, TelegramError) or not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            await context.bot.send_message(update.effective_chat.id, "抱歉，处理你的消息时出了点问题，请稍后再试。")
        except TelegramError as exc:
            log.warning("could not tell the user about the error: %s", exc)

    # -- wiring ---------------------------------------------------------------------------------------------
    def register(self, application: Application) -> None:
        new_messages = filters.UpdateType.MESSAGE
        application.add_handlers([
            CommandHandler("start", self.on_start, filters=new_messages),
            CommandHandler("help", self.on_help, filters=new_messages),
            CommandHandler("topics", self.on_topics, filters=new_messages),
            CommandHandler("about", self.on_about, filters=new_messages),
            CommandHandler("ask", self.on_ask, filters=filters.UpdateType.MESSAGES),
            CommandHandler("reload", self.on_reload, filters=new_messages),
            CommandHandler("stats", self.on_stats, filters=new_messages),
            CommandHandler("feedback", self.on_comment, filters=new_messages),
            CallbackQueryHandler(self.on_feedback, pattern=r"^fb:"),
            CallbackQueryHandler(self.on_reason, pattern=r"^why:"),
            InlineQueryHandler(self.on_inline_query),
            CallbackQueryHandler(self.on_topic, pattern=r"^t[:#]"),
            CallbackQueryHandler(self.on_topics_page, pattern=r"^tp:"),
            CallbackQueryHandler(self.on_example, pattern=r"^ex:"),
            CallbackQueryHandler(self.on_unknown_button),
            # questions: new and edited text messages (an edited question is answered again)
            MessageHandler(filters.UpdateType.MESSAGES & filters.TEXT & ~filters.COMMAND, self.on_text),
            MessageHandler(new_messages & filters.COMMAND, self.on_unknown_command),
            MessageHandler(new_messages & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_non_text),
        ])
        # every update is counted against its user first; then a reply in words to "what was wrong?" is taken
        # before anything treats it as a question
        application.add_handler(update_guard(self.update_limiter, self.hash_user), group=-2)
        application.add_handler(MessageHandler(new_messages & filters.REPLY & filters.TEXT & ~filters.COMMAND,
                                               self.on_reason_text), group=-1)
        application.add_error_handler(self.on_error)


COMMANDS = [
    BotCommand("start", "开始：我能回答什么"),
    BotCommand("topics", "文章讲了哪些方面"),
    BotCommand("ask", "提问（群里用）"),
    BotCommand("about", "内容来源和索引版本"),
    BotCommand("feedback", "给编辑留言"),
    BotCommand("help", "用法"),
]


def build_application(settings: Settings, engine: Engine, store: FeedbackStore | None = None,
                      examples: list[str] | None = None) -> Application:
    """The bot as a python-telegram-bot Application (not started); used by serve, tests and the benchmark.

    ``store`` None serves without storing questions or showing feedback buttons. ``examples`` defaults to
    knowledge_dir/examples.yaml. The TelegramBot behind the handlers is ``application.bot_data["bot"]``.
    """
    if not settings.telegram_token:
        raise ConfigError("no bot token: set $TELEGRAM_BOT_TOKEN")
    install_redaction(secrets_of(settings))
    if examples is None:
        examples = load_examples(settings.path("knowledge_dir"))
    bot = TelegramBot(settings, engine, store, examples)
    inner = AIORateLimiter(max_retries=int(settings.telegram_send_retries)) if settings.telegram_rate_limiter else None
    read_timeout = float(settings.telegram_read_timeout)
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_base_url)
        .request(CheckedRequest(connection_pool_size=256, read_timeout=read_timeout))
        .get_updates_request(PollingRequest(connection_pool_size=1, read_timeout=read_timeout,
                                            on_polled=bot.heartbeat, on_rejected=bot.token_rejected))
        .concurrent_updates(max(1, int(settings.telegram_concurrent_updates)))
        .rate_limiter(RetryingRateLimiter(settings.telegram_send_retries, settings.telegram_retry_delay, inner))
        .post_init(bot.post_init)
        .post_shutdown(bot.post_shutdown)
    )
    if settings.conversation_store:  # each chat's last question survives a restart, for its follow-ups
        path = settings.path("conversation_store")
        path.parent.mkdir(parents=True, exist_ok=True)
        application = application.persistence(PicklePersistence(path, store_data=PersistenceInput(
            bot_data=False, user_data=False, chat_data=True, callback_data=False)))
    application = application.build()
    application.bot_data["bot"] = bot
    bot.register(application)
    return application


# ==============================================================================================
# Running: polling or webhook
# ==============================================================================================


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments for ``run_webhook`` / ``Updater.start_webhook`` from the settings (validated)."""
    url = str(settings.webhook_url)
    if not url.startswith("https://"):
        raise ConfigError("telegram_mode is 'webhook' but webhook_url is not an https:// URL "
                          "(Telegram only posts to HTTPS); set webhook_url, e.g. https://bot.example.org/telegram")
    if not settings.webhook_secret:
        raise ConfigError("telegram_mode is 'webhook' but no secret is set: set $TELEGRAM_WEBHOOK_SECRET "
                          "(1-256 characters A-Z a-z 0-9 _ -) so forged requests are rejected")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.webhook_secret):
        raise ConfigError("$TELEGRAM_WEBHOOK_SECRET may only use A-Z a-z 0-9 _ - (1-256 characters)")
    return {
        "listen": settings.webhook_listen,
        "port": int(settings.webhook_port),
        "url_path": urlsplit(url).path.lstrip("/"),
        "webhook_url": url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
        "bootstrap_retries": int(settings.telegram_send_retries),
    }


async def start_bot(application: Application, webhook: dict[str, Any] | None = None, poll_interval: float = 0.0,
                    poll_timeout: float = 10.0) -> None:
    """Start like ``run_polling``/``run_webhook`` do, without owning the event loop (tests, benchmark)."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    if webhook is not None:
        await application.updater.start_webhook(**webhook)
    else:
        def polling_error(error: TelegramError) -> None:  # as run_polling does: to the error handler
            application.create_task(application.process_error(update=None, error=error))

        await application.updater.start_polling(poll_interval=poll_interval, timeout=poll_timeout,
                                                allowed_updates=ALLOWED_UPDATES, error_callback=polling_error)
    await application.start()


async def stop_bot(application: Application) -> None:
    """Stop what ``start_bot`` started: updater, application, then shutdown hooks."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


LOOP_THREAD = "bot-loop"  # the thread running_in_background polls on; the bench charges its CPU to the event loop


@contextlib.contextmanager
def running_in_background(application: Application, poll_timeout: float = 1.0) -> Iterator[None]:
    """The bot polling on an event loop of its own thread while the caller's code runs (bench, soak)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=LOOP_THREAD, daemon=True)
    thread.start()

    def run(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60.0)

    try:
        run(start_bot(application, poll_interval=0.0, poll_timeout=poll_timeout))
        yield
    finally:
        try:
            run(stop_bot(application))
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def serve(settings: Settings, engine: Engine | None = None, store: FeedbackStore | None = None) -> int:
    """``python -m bot serve``: run until stopped (Ctrl-C, SIGTERM). Exit code 1 on a fatal error.

    Secrets are redacted from every log line and from the error printed here.
    """
    hidden = secrets_of(settings)
    install_redaction(hidden)
    if not settings.telegram_token:
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return 1
    mode = str(settings.telegram_mode).strip().lower()
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"setting telegram_mode must be 'polling' or 'webhook', not {settings.telegram_mode!r}")
    webhook = webhook_options(settings) if mode == "webhook" else None
    own_store = store is None
    try:
        engine = engine or Engine(settings)
        store = store or FeedbackStore(settings)
        application = build_application(settings, engine, store)
        bot = application.bot_data["bot"]
        bot.heartbeat_file = settings.path("heartbeat_file")

        def stop_when_running() -> None:  # the 401 may come while the application is still starting
            async def stop() -> None:
                while not application.running:
                    await asyncio.sleep(0.05)
                with contextlib.suppress(TelegramError):  # stopping the updater re-raises the polling error
                    await application.updater.stop()
                application.stop_running()
            asyncio.get_running_loop().create_task(stop(), name="stop-on-fatal")

        bot.on_fatal = stop_when_running
        asyncio.set_event_loop(asyncio.new_event_loop())  # run_* use (and close) the current loop
        log.info("serving %s with index %s (%s)", engine.state.source, engine.index.build_id, mode)
        if webhook is not None:
            application.run_webhook(**webhook)
        else:
            application.run_polling(poll_interval=0.0, allowed_updates=ALLOWED_UPDATES,
                                    bootstrap_retries=int(settings.telegram_send_retries))
        if bot.fatal:  # a supervisor (Docker's restart policy, systemd) restarts it
            print(f"error: the bot stopped: {bot.fatal}; check $TELEGRAM_BOT_TOKEN", file=sys.stderr)
            return 1
    except BotError:
        raise  # printed by the command line as usual; these never contain secrets
    except Exception as exc:
        log.error("the bot stopped: %s: %s", type(exc).__name__, exc, exc_info=exc)
        print(f"error: the bot stopped: {redact(f'{type(exc).__name__}: {exc}', hidden)}", file=sys.stderr)
        return 1
    finally:
        if own_store and store is not None:
            store.close()
        asyncio.set_event_loop(None)
    return 0
