"""The bot put together: the features over one ``BotCore``, as a python-telegram-bot Application.

``build_bot(settings, engine, store)`` is the one place the bot is assembled; ``python -m bot serve``, the
tests and the benchmark all use it (tests and benchmark against ``devtools.fakeapi.FakeBotAPI`` through the
telegram_base_url setting). Updates arrive through ``updates.UpdateQueue`` (in webhook mode acknowledged only
once handled). Handlers run in this order: every update is counted against its user first (``limits``, over
the limit it goes no further); a reply in words to "what was wrong?" is taken next; then commands, buttons and
inline queries; text that is none of these is a question. Every Bot API failure the bot recovers from is
logged once as a warning: sends and button answers by ``send.RetryingRateLimiter``, getUpdates by
``on_error`` and ``send.PollingRequest``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import Conflict, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
)

from ..config import Settings
from ..engine import Engine
from ..errors import ConfigError
from ..logsafe import install_redaction, secrets_of
from ..store import Store
from ..store.persistence import StorePersistence
from .base import CONTEXT_TYPES, EXPIRED, BotCore, Context
from .cards import warm_up_question
from .inline import Inline
from .limits import UpdateLimit
from .liveness import Liveness
from .questions import Questions
from .review import Review
from .send import CheckedRequest, PollingRequest, RetryingRateLimiter, describe_failure
from .staff import Staff
from .topics import Topics, load_examples
from .updates import HandledUpdates, UpdateQueue
from .votes import Votes

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]

COMMANDS = [
    BotCommand("start", "开始：我能回答什么"),
    BotCommand("topics", "文章讲了哪些方面"),
    BotCommand("ask", "提问（群里用）"),
    BotCommand("about", "内容来源和索引版本"),
    BotCommand("feedback", "给编辑留言"),
    BotCommand("help", "用法"),
]

BotApplication = Application[Any, Context, Any, Any, Any, Any]


@dataclass
class TelegramBot:
    """The assembled bot: its Application (not started), the state its features share, its liveness."""

    application: BotApplication
    core: BotCore
    liveness: Liveness


class _Handlers:
    """The features over one core, and what the Application calls besides them (start-up, shutdown, errors)."""

    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.liveness = Liveness(core)
        self.questions = Questions(core)
        self.votes = Votes(core)
        self.features = (Topics(core, self.questions), Staff(core), Review(core), self.votes, Inline(core),
                         self.questions)
        self.update_limit = UpdateLimit(core)

    def register(self, application: BotApplication) -> None:
        application.add_handler(self.update_limit.handler(), group=-2)
        application.add_handler(self.votes.reason_text_handler(), group=-1)
        application.add_handlers([handler for feature in self.features for handler in feature.handlers()])
        application.add_handler(CallbackQueryHandler(self.on_expired_button))  # data no pattern above matched
        application.add_handlers(self.questions.last_handlers())
        application.add_error_handler(self.on_error)

    async def post_init(self, application: BotApplication) -> None:
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # the menu is a convenience: serve without it
            log.warning("could not register the command menu: %s", exc)
        if not application.bot.supports_inline_queries:
            log.info("inline mode is off for this bot: send /setinline to @BotFather to let users ask "
                     "@%s 问题 in any chat", application.bot.username)
        core = self.core  # warm up lazy model parts before users arrive
        await core.run_sync(core.engine.answer, warm_up_question(core.engine.index.content))
        if core.store is not None:
            await core.run_sync(core.store.purge)  # retention at start-up (and daily, as the store writes)
        self.liveness.start(application)

    async def post_shutdown(self, application: BotApplication) -> None:
        await self.liveness.stop()
        self.core.shutdown()

    async def on_expired_button(self, update: Update, context: Context) -> None:
        if update.callback_query is not None:
            await self.core.answer_button(update.callback_query, EXPIRED)

    async def on_error(self, update: object, context: Context) -> None:
        """Log (the filter redacts secrets) and keep going; tell the user unless sending itself failed."""
        error = context.error
        stats = self.core.stats
        if update is None and isinstance(error, Conflict):  # getUpdates refused: another poller or a webhook
            stats.errors += 1
            log.error("polling for updates (getUpdates) refused: %s. Another process is running this bot "
                      "with the same token, or a webhook is set; stop the other one", error)
            return
        if update is None and isinstance(error, TelegramError):  # getUpdates failed: the updater retries
            # (network errors, 5xx, malformed answers; timeouts and 429 are logged by PollingRequest)
            log.warning("polling for updates failed, retrying (getUpdates: %s)", describe_failure(error))
            return
        stats.errors += 1
        log.error("error while handling an update: %s: %s", type(error).__name__, error, exc_info=error)
        if isinstance(error, TelegramError) or not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            await context.bot.send_message(update.effective_chat.id, "抱歉，处理你的消息时出了点问题，请稍后再试。")
        except TelegramError as exc:
            log.warning("could not tell the user about the error: %s", exc)


def _conversation_store(settings: Settings, store: Store | None) -> StorePersistence | None:
    """Each chat's memory (its last question, for follow-ups) kept across restarts, in the store, when set up."""
    if not settings.conversation_store or store is None:
        return None
    return StorePersistence(store, settings)


def build_bot(settings: Settings, engine: Engine, store: Store | None = None,
              examples: list[str] | None = None) -> TelegramBot:
    """The bot with its Application (not started); used by serve, tests and the benchmark.

    ``store`` None serves without storing questions or showing feedback buttons. ``examples`` defaults to
    knowledge_dir/examples.yaml.
    """
    if not settings.telegram_token:
        raise ConfigError("no bot token: set $TELEGRAM_BOT_TOKEN")
    install_redaction(secrets_of(settings))
    if examples is None:
        examples = load_examples(settings.path("knowledge_dir"))
    handlers = _Handlers(BotCore(settings, engine, store, examples))
    liveness = handlers.liveness
    inner = AIORateLimiter(max_retries=int(settings.telegram_send_retries)) if settings.telegram_rate_limiter else None
    read_timeout = float(settings.telegram_read_timeout)
    updates = UpdateQueue(acknowledge=str(settings.telegram_mode).strip().lower() == "webhook")
    processor = HandledUpdates(max(1, int(settings.telegram_concurrent_updates)), updates)
    builder = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .update_queue(updates)
        .token(settings.telegram_token)
        .base_url(settings.telegram_base_url)
        .request(CheckedRequest(connection_pool_size=256, read_timeout=read_timeout))
        .get_updates_request(PollingRequest(connection_pool_size=1, read_timeout=read_timeout,
                                            on_polled=liveness.heartbeat, on_rejected=liveness.token_rejected))
        .concurrent_updates(processor)
        .rate_limiter(RetryingRateLimiter(settings.telegram_send_deadline, settings.telegram_retry_delay,
                                          settings.telegram_retry_max_delay, inner))
        .post_init(handlers.post_init)
        .post_shutdown(handlers.post_shutdown)
    )
    persistence = _conversation_store(settings, store)
    application = (builder.persistence(persistence) if persistence is not None else builder).build()
    processor.application = application
    handlers.register(application)
    return TelegramBot(application, handlers.core, liveness)


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
