"""Liveness: the heartbeat ``python -m bot health --live`` reads, giving up when Telegram rejects the token,
and loading a new index build automatically (setting auto_reload_seconds).

A serving process touches its heartbeat file after each answered getUpdates (polling) or every few seconds
while its webhook server runs. When Telegram refuses the token, python-telegram-bot stops polling for good:
the heartbeat file goes and ``on_fatal`` stops serving, so a supervisor restarts the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.ext import Application

from ..heartbeat import beat
from ..index import current_build
from .base import BotCore

log = logging.getLogger(__name__)


class Liveness:
    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.fatal = ""  # why serving cannot go on (the token was rejected); serve then exits non-zero
        self.on_fatal: Callable[[], None] | None = None  # serve: stop run_polling / run_webhook
        self.heartbeat_file: Path | None = None  # set by serve: only a serving process leaves a heartbeat
        self._last_beat = 0.0
        self._beat_failed = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The background tasks: automatic reload, and the heartbeat in webhook mode."""
        settings = self.core.settings
        if settings.auto_reload_seconds > 0:
            self._tasks.append(asyncio.create_task(self._auto_reload(), name="auto-reload"))
        if str(settings.telegram_mode).lower() == "webhook":
            self._tasks.append(asyncio.create_task(self._listening(application), name="heartbeat"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def heartbeat(self, state: str = "polling") -> None:
        """Touch the heartbeat file (at most every few seconds); a failure is logged once, never raised."""
        now = time.monotonic()
        if self.heartbeat_file is None or self.fatal \
                or now - self._last_beat < min(5.0, float(self.core.settings.heartbeat_max_age) / 4):
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

    async def _listening(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Webhook mode: a heartbeat while the webhook server runs."""
        while True:
            if application.updater is not None and application.updater.running:
                self.heartbeat("listening")
            await asyncio.sleep(min(30.0, float(self.core.settings.heartbeat_max_age) / 4))

    async def _auto_reload(self) -> None:
        """Load a new index build when the CURRENT pointer names another one (reading that one small file is
        the whole cost of a check), else the pins when their files changed (a stat of each); a broken build or
        pins file is logged once and the old one kept, and the damaged build passed over at start-up (the newest
        intact one serves instead) is not tried again."""
        engine = self.core.engine
        index_dir = self.core.settings.path("index_dir")
        broken = ""  # a build that failed to load is not tried again until the manifest changes
        last_problem = ""  # each problem is logged once, not every interval
        while True:
            await asyncio.sleep(float(self.core.settings.auto_reload_seconds))
            build_id = ""
            try:
                build = await self.core.run_sync(current_build, index_dir)  # the small pointer file only
                build_id = build.name if build is not None else ""
                if build_id in (engine.index.build_id, engine.index.passed_over, broken, ""):
                    if await self.core.run_sync(engine.reload_pins):  # `python -m bot pin` while serving
                        log.info("auto reload: loaded the changed pins files")
                    continue
                if await self.core.run_sync(engine.reload):
                    log.info("auto reload: loaded index build %s", engine.index.build_id)
                last_problem = ""
            except Exception as exc:  # a missing or broken build: keep serving the old one
                problem = f"{build_id}: {exc}"
                if problem != last_problem:
                    log.error("auto reload: the new index cannot be loaded, still serving %s: %s",
                              engine.index.build_id, exc)
                broken, last_problem = build_id, problem
