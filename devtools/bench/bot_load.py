"""The bench's ``bot`` part: many simulated users through the fake Bot API server against the real
Application, in this process: replies per second, time from update to reply, where the CPU goes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import threading
import time
from pathlib import Path
from typing import Any

from bot.engine import Engine
from bot.store import Store
from bot.telegram.wiring import build_bot

from ..fakeapi import FakeBotAPI
from ..harness import LOOP_THREAD, running_in_background
from .measure import Bench, summary_ms


def part_bot(bench: Bench) -> dict[str, Any]:
    """Simulated users through the fake Bot API server against the real Application (polling).

    Two loads: *capacity* — every user asks, waits for the reply, asks again (closed loop, the process
    saturated: replies per second is what one process carries); *steady* — questions arrive on a clock
    at a fixed rate spread over the users (open loop: the time from update to reply users feel at that
    traffic). Telegram-side and per-user rate limits are off, the feedback store is a real SQLite file.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    options = bench.options
    users, per_user, rate = options.bot_users, options.bot_questions, options.bot_rate
    questions = bench.dev_questions()
    index_dir = bench.real_index()
    with FakeBotAPI() as api:
        settings = bench.settings.replace(
            telegram_token=api.token, telegram_base_url=api.base_url, index_dir=str(index_dir),
            feedback_db=str(bench.work / "bot" / "feedback.sqlite3"), telegram_rate_limiter=False,
            rate_limit_per_minute=0, auto_reload_seconds=0)
        engine = Engine(settings, bench.embedder)
        answer_seconds: list[float] = []
        answer = engine.answer

        def timed_answer(question: str, repeat_of: str = "") -> Any:  # the engine's share of the bot's work
            started = time.perf_counter()
            try:
                return answer(question, repeat_of)
            finally:
                answer_seconds.append(time.perf_counter() - started)

        engine.answer = timed_answer  # type: ignore[method-assign]
        store = Store(settings)
        bot = build_bot(settings, engine, store)
        try:
            with running_in_background(bot):
                closed_loop(api, [900_000_000 + i for i in range(4)], 2, questions)  # warm the whole path
                answer_seconds.clear()
                cpu, threads = _cpu_seconds(), _thread_cpu()
                capacity = closed_loop(api, [910_000_000 + i for i in range(users)], per_user, questions)
                capacity["cpu_ms_per_reply"] = round(1000 * (_cpu_seconds() - cpu) / max(1, capacity["replies"]), 3)
                capacity["cpu_s_by_thread"] = cpu_by_thread_group(threads)
                capacity["answer_ms"] = summary_ms(answer_seconds)
                bench.log(f"  bot capacity: {capacity['replies_per_s']:.0f} replies/s, "
                          f"p95 {capacity['latency']['p95_ms']:.0f} ms with {users} users waiting on replies")
                answer_seconds.clear()
                cpu, threads = _cpu_seconds(), _thread_cpu()
                steady = open_loop(api, [920_000_000 + i for i in range(users)], rate, options.bot_seconds, questions)
                steady["cpu_ms_per_reply"] = round(1000 * (_cpu_seconds() - cpu) / max(1, steady["replies"]), 3)
                steady["cpu_s_by_thread"] = cpu_by_thread_group(threads)
                steady["answer_ms"] = summary_ms(answer_seconds)
                bench.log(f"  bot steady {rate:.0f}/s: {steady['replies_per_s']:.1f} replies/s, "
                          f"p50 {steady['latency']['p50_ms']:.0f} ms, p95 {steady['latency']['p95_ms']:.0f} ms")
        finally:
            store.close()
        server = api.stats()
    return {
        "users": users, "questions_per_user": per_user, "answer_threads": settings.answer_threads,
        "concurrent_updates": settings.telegram_concurrent_updates,
        "capacity": capacity, "steady": steady,
        # headline: what one process carries, and the latency at the target traffic
        "replies_per_s": capacity["replies_per_s"], "latency": steady["latency"],
        "steady_rate_per_s": rate, "fake_server_requests": server.get("requests", {}),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of this process, by native thread id (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    result: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                result[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return result


def _thread_group(name: str) -> str:
    """The role of a thread of the bot process, by its name."""
    if name.startswith(("answer", "encode")):
        return "answer threads (search, reply, SQLite)"
    if name == LOOP_THREAD:
        return "event loop (python-telegram-bot, httpx)"
    if name == "MainThread":
        return "benchmark driver"
    if name == "FakeBotAPI" or "process_request" in name:
        return "fake Bot API server"
    return "other"


def cpu_by_thread_group(before: dict[int, float]) -> dict[str, float]:
    """Where the process's CPU time went since ``before``, by thread role (a profile across threads)."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    after = _thread_cpu()
    groups: dict[str, float] = {}
    for tid, seconds in after.items():
        group = _thread_group(names.get(tid, ""))
        groups[group] = groups.get(group, 0.0) + seconds - before.get(tid, 0.0)
    return {k: round(v, 3) for k, v in sorted(groups.items(), key=lambda item: -item[1])}


class _ReplyWatcher:
    """Follows the fake server's sendMessage log: the reply to each chat's question, in order."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.seen = len(api.calls("sendMessage"))

    def new_replies(self) -> list[tuple[int, float]]:
        calls = self.api.calls("sendMessage")
        fresh = calls[self.seen:]
        self.seen = len(calls)
        return [(int(c.params["chat_id"]), c.time) for c in fresh if c.ok]


def closed_loop(api: Any, users: list[int], per_user: int, questions: list[str],
                timeout: float = 300.0) -> dict[str, Any]:
    """Each user asks, waits for the reply, asks the next question: saturation throughput."""
    watcher = _ReplyWatcher(api)
    asked: dict[int, float] = {}
    remaining = {user: per_user for user in users}
    latencies: list[float] = []
    count = 0

    def ask(user: int) -> None:
        nonlocal count
        asked[user] = time.monotonic()
        api.send_text(questions[count % len(questions)], user_id=user)
        remaining[user] -= 1
        count += 1

    started = time.monotonic()
    for user in users:
        ask(user)
    deadline = started + timeout
    while asked and time.monotonic() < deadline:
        replies = watcher.new_replies()
        if not replies:
            time.sleep(0.001)
            continue
        for chat, at in replies:
            if chat in asked:
                latencies.append(at - asked.pop(chat))
                if remaining[chat] > 0:
                    ask(chat)
    elapsed = time.monotonic() - started
    return {"users": len(users), "questions": count, "replies": len(latencies), "seconds": round(elapsed, 3),
            "replies_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "latency": summary_ms(latencies), "unanswered": len(asked)}


def open_loop(api: Any, users: list[int], rate: float, duration: float, questions: list[str],
              drain: float = 30.0) -> dict[str, Any]:
    """Questions on a clock (``rate`` per second for ``duration`` s, users in turn); update→reply times."""
    watcher = _ReplyWatcher(api)
    pending: dict[int, list[float]] = {}
    latencies: list[float] = []
    total = int(rate * duration)
    started = time.monotonic()
    sent = 0

    def collect() -> None:
        for chat, at in watcher.new_replies():
            if pending.get(chat):
                latencies.append(at - pending[chat].pop(0))

    while sent < total:
        due = started + sent / rate
        now = time.monotonic()
        if now < due:
            collect()
            time.sleep(min(0.002, due - now))
            continue
        user = users[sent % len(users)]
        pending.setdefault(user, []).append(time.monotonic())
        api.send_text(questions[sent % len(questions)], user_id=user)
        sent += 1
    sending = time.monotonic() - started
    deadline = time.monotonic() + drain
    while len(latencies) < sent and time.monotonic() < deadline:
        collect()
        time.sleep(0.002)
    elapsed = time.monotonic() - started
    return {"offered_per_s": rate, "questions": sent, "replies": len(latencies), "send_seconds": round(sending, 3),
            "seconds": round(elapsed, 3), "replies_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "latency": summary_ms(latencies), "unanswered": sent - len(latencies)}
