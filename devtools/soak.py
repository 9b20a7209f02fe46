"""`python -m devtools soak`: a long run of questions through the fake Bot API server against the real bot.

``run_soak`` starts ``devtools.fakeapi.FakeBotAPI`` and the real Application (``build_application``, polling,
a real SQLite feedback store in a temporary folder, Telegram-side and per-user rate limits off) and lets
``users`` simulated users ask ``questions`` questions in all: each user asks, waits for the answer, asks
the next one (a closed loop, so the bot is kept busy but never flooded). It records each answer's latency
(question enqueued at the fake → its sendMessage recorded by the fake) and this process's resident memory
(VmRSS in /proc/self/status) every 1,000 answers, and compares the first thousand answers with the last:
a leak or a slowdown over time shows as growth between the two, and in the per-thousand samples. It also
counts answers lost (a question that never got one) and duplicated (more answers than questions in a chat).

The fake server runs in this process; it hands each delivered answer to the driver as it is recorded
(``FakeBotAPI.watch``) and is told to forget its call log and message store every 1,000 answers
(``FakeBotAPI.forget``), so its own bookkeeping does not show up as the bot's memory growth.
"""

from __future__ import annotations

import queue
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import Settings, available_cores
from bot.engine import Engine

from .bench.measure import percentile, proc_status_mb
from .fakeapi import Call, FakeBotAPI

SAMPLE_EVERY = 1000  # replies between memory samples, and the size of the first/last windows
FIRST_USER = 970_000_000  # simulated users' ids (private chats)

# Varied questions: factual ones with figures, paraphrases, Traditional script, off-topic ones (abstain),
# odd input; all answered from the bundled article.
QUESTIONS = [
    "温州的城市书房有多少家？", "瑞安的金融专员发放了多少专项贷款？", "大病保险报销比例提高到了多少？",
    "温州新增了多少个托位？", "世界青年科学家峰会举办了几届？", "苍南的“折股量化”收益怎么分配？",
    "2021年温州低收入农户收入同比增幅多少", "有多少高层次人才跟温州的企事业单位签了约", "青科会创业园企业多吗",
    "世界青年科學家峰會永久會址落戶哪裡", "瑞安金融专员支持新型农业经营主体多少资金", "洞头东岙村民宿有多少家",
    "城市书房总藏书多少", "“侨家乐”是什么", "温州山区县靠啥工程带动发展", "火星上有多少人？",
    "今天天气怎么样", "城市书房有多少个座位？", "📚 书房 <b>几家</b> & 藏书？", "医保纾困怎么帮助困难群众",
]


def _window(latencies: list[float], rss: float) -> dict[str, Any]:
    ms = [s * 1000 for s in latencies]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"), "rss_mb": rss}


def _chat_and_time(call: Call) -> tuple[int, float]:
    """The chat an answer went to, and when the fake server recorded it."""
    return int(call.params["chat_id"]), call.time


def run_soak(settings: Settings, engine: Engine, questions: int = 10000, users: int = 50,
             stall_seconds: float = 30.0, progress: Callable[[str], None] | None = None,
             sample_every: int = SAMPLE_EVERY) -> dict[str, Any]:
    """Ask ``questions`` questions from ``users`` users through the fake server; see the module docstring.

    Returns totals (replies, lost, duplicates, bot errors, replies per second), the first and last
    windows of ``sample_every`` answers (p50/p95 latency in ms, RSS in MB at the window's end; smaller
    windows when fewer than twice as many questions are asked) and the RSS samples, one every
    ``sample_every`` answers. Stops early if no answer arrives for ``stall_seconds``; questions still open
    then count as lost.
    """
    from bot.store import Store
    from bot.telegram.wiring import build_bot

    from .harness import running_in_background

    questions, users = max(1, int(questions)), max(1, min(int(users), int(questions)))
    say = progress or (lambda message: None)
    with tempfile.TemporaryDirectory(prefix="bot-soak-") as work, FakeBotAPI() as api:
        soak_settings = settings.replace(
            telegram_token=api.token, telegram_base_url=api.base_url, telegram_rate_limiter=False,
            rate_limit_per_minute=0, auto_reload_seconds=0, feedback_db=str(Path(work) / "feedback.sqlite3"),
            user_id_salt="soak-salt")
        store = Store(soak_settings)
        bot = build_bot(soak_settings, engine, store)
        delivered_calls = api.watch("sendMessage")
        pending: dict[int, float] = {}  # user → when their open question was enqueued
        asked: Counter[int] = Counter()
        delivered: Counter[int] = Counter()
        latencies: list[float] = []
        samples: list[dict[str, Any]] = []  # every sample_every answers: RSS, and that stretch's latency
        count = 0

        def ask(user: int) -> None:
            nonlocal count
            pending[user] = time.monotonic()
            asked[user] += 1
            api.send_text(QUESTIONS[count % len(QUESTIONS)], user_id=user)
            count += 1

        try:
            with running_in_background(bot):
                rss_start = proc_status_mb()
                started = time.monotonic()
                for user in range(FIRST_USER, FIRST_USER + users):
                    ask(user)
                while pending:
                    try:
                        chat, at = _chat_and_time(delivered_calls.get(timeout=stall_seconds))
                    except queue.Empty:
                        say(f"soak: no answer for {stall_seconds:g} s, {len(pending)} question(s) still open; stopping")
                        break
                    delivered[chat] += 1
                    if chat not in pending:
                        continue  # a duplicate: counted below
                    latencies.append(at - pending.pop(chat))
                    if len(latencies) % sample_every == 0:
                        api.forget()
                        stretch = _window(latencies[-sample_every:], proc_status_mb())
                        samples.append({"answers": len(latencies), "rss_mb": stretch["rss_mb"],
                                        "p50_ms": stretch["p50_ms"], "p95_ms": stretch["p95_ms"]})
                        say(f"soak: {len(latencies)} answers, {len(latencies) / (time.monotonic() - started):.0f}/s, "
                            f"p50 {stretch['p50_ms']:.0f} ms, p95 {stretch['p95_ms']:.0f} ms, "
                            f"RSS {stretch['rss_mb']:.0f} MB")
                    if count < questions:
                        ask(chat)
                elapsed = time.monotonic() - started
                time.sleep(0.5)  # room for stray duplicates
                while not delivered_calls.empty():
                    chat, _ = _chat_and_time(delivered_calls.get())
                    delivered[chat] += 1
        finally:
            store.close()
        rss_end = proc_status_mb()
        requests = api.stats()["requests"]
    window = min(sample_every, max(1, len(latencies) // 2))
    first_rss = next((s["rss_mb"] for s in samples if s["answers"] >= window), rss_end)
    return {
        "questions": count, "users": users, "replies": sum(delivered.values()), "answered": len(latencies),
        "lost": sum(max(0, asked[u] - delivered[u]) for u in asked),
        "duplicates": sum(max(0, delivered[u] - asked[u]) for u in delivered),
        "bot_errors": bot.core.stats.errors, "seconds": round(elapsed, 2),
        "replies_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "window": window,
        "first": _window(latencies[:window], first_rss),
        "last": _window(latencies[-window:], rss_end),
        "rss_start_mb": rss_start, "rss_end_mb": rss_end,
        "rss_growth_mb": round(rss_end - first_rss, 1),
        "samples": samples,
        "answer_threads": int(settings.answer_threads) or available_cores(),
        "concurrent_updates": int(settings.telegram_concurrent_updates),
        "fake_server_requests": requests,
    }


def format_soak(result: dict[str, Any]) -> str:
    """The soak's figures as a table for the terminal."""
    first, last, window = result["first"], result["last"], result["window"]
    lines = [
        f"soak: {result['questions']} questions from {result['users']} users in {result['seconds']:.1f} s "
        f"({result['replies_per_s']:.0f} answers/s)",
        f"answers {result['replies']}, lost {result['lost']}, duplicates {result['duplicates']}, "
        f"bot errors {result['bot_errors']}",
        "",
        f"{'':14}{f'first {window}':>14}{f'last {window}':>14}",
        f"{'p50 latency':14}{first['p50_ms']:>11.1f} ms{last['p50_ms']:>11.1f} ms",
        f"{'p95 latency':14}{first['p95_ms']:>11.1f} ms{last['p95_ms']:>11.1f} ms",
        f"{'RSS':14}{first['rss_mb']:>11.1f} MB{last['rss_mb']:>11.1f} MB",
        "",
        f"RSS at start {result['rss_start_mb']:.1f} MB (after loading the model and the index)",
    ]
    if result["samples"]:
        lines += ["", f"{'answers':>8}{'p50 ms':>9}{'p95 ms':>9}{'RSS MB':>9}"]
        lines += [f"{s['answers']:>8}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}{s['rss_mb']:>9.1f}"
                  for s in result["samples"]]
    return "\n".join(lines)
