"""``python -m bot serve``: the bot polling Telegram (or behind a webhook) until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from telegram.error import TelegramError

from ..config import Settings
from ..engine import Engine
from ..errors import BotError, ConfigError
from ..logsafe import install_redaction, redact, secrets_of
from ..store import Store
from .wiring import ALLOWED_UPDATES, TelegramBot, build_bot, webhook_options

log = logging.getLogger(__name__)

NO_TOKEN_MESSAGE = (
    "错误：没有设置机器人令牌（TELEGRAM_BOT_TOKEN）。\n"
    "error: no bot token: set the environment variable TELEGRAM_BOT_TOKEN to the token @BotFather gave you,\n"
    "e.g. `export TELEGRAM_BOT_TOKEN=123456:ABC...` then run `python -m bot serve` again.\n"
    "提示 / hint: 不连 Telegram 也能在终端里试用 / to try the bot without Telegram, run `python -m bot chat`."
)


def _stop_on_fatal(bot: TelegramBot) -> None:
    """When the token is rejected, stop run_polling / run_webhook (the 401 may come while still starting)."""
    application = bot.application

    def stop_when_running() -> None:
        async def stop() -> None:
            while not application.running:
                await asyncio.sleep(0.05)
            if application.updater is not None:
                with contextlib.suppress(TelegramError):  # stopping the updater re-raises the polling error
                    await application.updater.stop()
            application.stop_running()
        asyncio.get_running_loop().create_task(stop(), name="stop-on-fatal")

    bot.liveness.on_fatal = stop_when_running


def serve(settings: Settings, engine: Engine | None = None, store: Store | None = None) -> int:
    """Run until stopped (Ctrl-C, SIGTERM). Exit code 1 on a fatal error.

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
        store = store or Store(settings)
        bot = build_bot(settings, engine, store)
        bot.liveness.heartbeat_file = settings.path("heartbeat_file")
        _stop_on_fatal(bot)
        asyncio.set_event_loop(asyncio.new_event_loop())  # run_* use (and close) the current loop
        log.info("serving %s with index %s (%s)", engine.state.source, engine.index.build_id, mode)
        if webhook is not None:
            bot.application.run_webhook(**webhook)
        else:
            bot.application.run_polling(poll_interval=0.0, allowed_updates=ALLOWED_UPDATES,
                                        bootstrap_retries=int(settings.telegram_send_retries))
        if bot.liveness.fatal:  # a supervisor (Docker's restart policy, systemd) restarts it
            print(f"error: the bot stopped: {bot.liveness.fatal}; check $TELEGRAM_BOT_TOKEN", file=sys.stderr)
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
