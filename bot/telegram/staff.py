"""Staff commands, for the user ids of setting admin_ids: /reload loads a new index build (a broken one is
refused and the old one keeps serving), /stats shows the counters since start and the database's totals."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from ..logsafe import redact, secrets_of
from .base import BotCore, Context

log = logging.getLogger(__name__)


def _uptime(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days}天" if days else "") + f"{hours}小时{minutes}分{seconds}秒"


class Staff:
    def __init__(self, core: BotCore) -> None:
        self.core = core
        self.admins = frozenset(int(i) for i in core.settings.admin_ids)

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        new_messages = filters.UpdateType.MESSAGE
        return [CommandHandler("reload", self.on_reload, filters=new_messages),
                CommandHandler("stats", self.on_stats, filters=new_messages)]

    async def _admin_chat(self, update: Update, context: Context, command: str) -> int | None:
        """The chat to answer an admin in; None for anyone else (refused, and the refusal logged hashed)."""
        user, chat = update.effective_user, update.effective_chat
        if user is not None and user.id in self.admins and chat is not None:
            return chat.id
        log.warning("refused /%s from a non-admin user %s", command,
                    self.core.hash_user(user.id) if user is not None else "unknown")
        if chat is not None:
            await self.core.say(context, chat.id, f"抱歉，/{command} 只有管理员可以用。")
        return None

    async def on_reload(self, update: Update, context: Context) -> None:
        chat_id = await self._admin_chat(update, context, "reload")
        if chat_id is None:
            return
        engine = self.core.engine
        old = engine.index.build_id
        try:
            changed = await self.core.run_sync(engine.reload)
        except Exception as exc:  # a broken build: the old index keeps serving
            log.error("/reload: the new index cannot be loaded, still serving %s: %s", old, exc)
            text = f"新索引加载失败，继续使用旧索引 {old}。\n原因：{redact(str(exc), secrets_of(self.core.settings))}"
        else:
            build_id = engine.index.build_id
            log.info("/reload: %s", f"loaded index build {build_id}" if changed else "index already current")
            text = f"已加载新索引 {build_id}" if changed else f"已是最新（索引 {build_id}）"
        await self.core.say(context, chat_id, text)

    async def on_stats(self, update: Update, context: Context) -> None:
        chat_id = await self._admin_chat(update, context, "stats")
        if chat_id is None:
            return
        s = self.core.stats
        lines = [f"运行时间：{_uptime(time.time() - s.started)}",
                 f"本次运行：回答 {s.answered} 个问题，未回答 {s.abstained} 个（其中文中无此数字 {s.no_figure} 个），"
                 f"限速 {s.rate_limited} 次，出错 {s.errors} 次",
                 f"本次运行的反馈：👍 {s.votes_up}  👎 {s.votes_down}"]
        store = self.core.store
        if store is not None:
            try:
                totals = await self.core.run_sync(store.totals)
                lines.append(f"数据库累计：问题 {totals['questions']} 个，已回答 {totals['answered']} 个，"
                             f"👍 {totals['up']}  👎 {totals['down']}")
            except Exception as exc:
                log.error("/stats: cannot read the feedback database: %s", exc)
                lines.append("数据库累计：读取失败（详见日志）")
        manifest = self.core.engine.index.manifest
        lines.append(f"索引：{manifest.get('build_id')}（{manifest.get('chunk_count')} 段，"
                     f"建于 {manifest.get('built_at')}）")
        await self.core.say(context, chat_id, "\n".join(lines))
