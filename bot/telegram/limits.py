"""Per-user limits, so one user's flood never slows the others, counted alike by every replica.

Two limits, each a ``bot.store.RateLimiter`` (kept in the store, so replicas behind one webhook count one
user's updates together): questions (setting rate_limit_per_minute, checked by ``questions``) and every
update of any kind, commands, button presses, inline queries and questions included (setting
update_rate_limit_per_minute, checked here): over that one, updates are dropped before any handler runs, so
a flood costs neither answers nor Bot API requests that other users' replies wait behind. Either way the
user is told once a window, and this message names the update limit, so a question dropped by it (with the
question limit off, say) is never dropped without a word.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from .base import BotCore, Context, in_script, user_script

log = logging.getLogger(__name__)


class UpdateLimit:
    """The handler, for a group before all others, that drops a user's updates over the update limit."""

    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.limit = int(core.settings.update_rate_limit_per_minute)
        self.limiter = core.rate_limiter("updates", self.limit)

    def handler(self) -> TypeHandler[Update, Context, None]:
        return TypeHandler(Update, self.guard)

    async def guard(self, update: Update, context: Context) -> None:
        user = update.effective_user
        if user is None:
            return
        decision = await asyncio.to_thread(self.limiter.check, user.id)
        if decision.allowed:
            return
        if decision.tell:  # once per window, not once per dropped update
            log.info("update limit: user %s sent more than update_rate_limit_per_minute (%d) updates a minute; "
                     "dropping them for %.0f s", self.core.hash_user(user.id), self.limit, decision.wait)
            await self._tell(update, context, decision.wait)
        raise ApplicationHandlerStop

    async def _tell(self, update: Update, context: Context, wait: float) -> None:
        """Say why nothing more is answered, in the chat (a button press: as its notice); an inline query has
        nowhere to be told."""
        text = f"你发得太快了：每人每分钟最多 {self.limit} 条消息或操作，请 {max(1, round(wait))} 秒后再发。"
        traditional = user_script(update, context)
        try:
            if update.callback_query is not None:
                await self.core.answer_button(update.callback_query, in_script(text, traditional))
            elif update.effective_chat is not None:
                await self.core.say(context, update.effective_chat.id, text, traditional)
        except TelegramError as exc:  # the notice is a courtesy: the update is dropped all the same
            log.info("could not tell a user about the update limit: %s", exc)
