"""The bot run inside a test, the benchmark or the soak: started and stopped as ``run_polling`` /
``run_webhook`` do, but on an event loop of its own thread, so the caller's code runs meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from threading import Thread
from typing import Any, TypeVar

from telegram.error import TelegramError

from bot.telegram.wiring import ALLOWED_UPDATES, BotApplication, TelegramBot

LOOP_THREAD = "bot-loop"  # the thread the bot runs on; the bench charges its CPU to the event loop
T = TypeVar("T")


async def start_bot(application: BotApplication, webhook: dict[str, Any] | None = None, poll_interval: float = 0.0,
                    poll_timeout: float = 10.0) -> None:
    """Start like ``run_polling``/``run_webhook`` do, without owning the event loop."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    if application.updater is None:
        raise RuntimeError("the application was built without an updater")
    if webhook is not None:
        await application.updater.start_webhook(**webhook)
    else:
        def polling_error(error: TelegramError) -> None:  # as run_polling does: to the error handler
            application.create_task(application.process_error(update=None, error=error))

        await application.updater.start_polling(poll_interval=poll_interval, timeout=timedelta(seconds=poll_timeout),
                                                allowed_updates=ALLOWED_UPDATES, error_callback=polling_error)
    await application.start()


async def stop_bot(application: BotApplication) -> None:
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


class BackgroundBot:
    """A bot on an event loop of its own thread: ``start``, run coroutines on that loop with ``call``, ``stop``."""

    def __init__(self, bot: TelegramBot) -> None:
        self.application = bot.application
        self.core = bot.core
        self.liveness = bot.liveness
        self.loop = asyncio.new_event_loop()
        self.thread = Thread(target=self.loop.run_forever, name=LOOP_THREAD, daemon=True)
        self.running = False

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, webhook: dict[str, Any] | None = None, poll_timeout: float = 1.0) -> BackgroundBot:
        self.thread.start()
        self.running = True  # from here on stop() stops it, even when starting fails half-way
        self.call(start_bot(self.application, webhook=webhook, poll_interval=0.0, poll_timeout=poll_timeout))
        return self

    def stop(self) -> None:
        """Stop the bot and its loop; safe to call twice."""
        try:
            if self.running:
                self.running = False
                self.call(stop_bot(self.application))
        finally:
            if self.thread.is_alive():
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(timeout=10)
            if not self.loop.is_closed() and not self.loop.is_running():
                self.loop.close()


@contextlib.contextmanager
def running_in_background(bot: TelegramBot, poll_timeout: float = 1.0) -> Iterator[BackgroundBot]:
    """The bot polling in the background while the caller's code runs (bench, soak)."""
    background = BackgroundBot(bot)
    try:
        yield background.start(poll_timeout=poll_timeout)
    finally:
        background.stop()
