"""The Telegram bot end to end: the real python-telegram-bot Application against devtools.fakeapi.FakeBotAPI.

Each test starts a fresh fake Bot API server on 127.0.0.1 and a fresh Application (polling, or a webhook
server on a free port) in a background thread's event loop, sends updates the way Telegram would, and
asserts on the Bot API calls the fake recorded. The model and the index are loaded once per session (the
fixtures are shared with other test files in conftest.py, the helpers in tests/helpers.py).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.embedding import Embedder
from bot.engine import Engine
from bot.errors import KnowledgeError
from bot.index import build_index
from bot.logsafe import REDACTED, install_redaction, redact
from bot.render import MAX_MESSAGE_UTF16, telegram_messages
from bot.store import RateLimiter
from bot.telegram.cards import summary_of
from bot.telegram.serve import serve
from bot.telegram.topics import load_examples
from bot.telegram.wiring import webhook_options
from devtools.fakeapi import DEFAULT_GROUP_ID, FakeBotAPI, Fault, parse_telegram_html, utf16_len

# The fixtures (embedder, index_dir, engine, api, start) are in conftest.py, these helpers in tests/helpers.py;
# USER is a distinctive id: it must never show up in the feedback database or the logs.
from tests.helpers import (
    ADMIN,
    KNOWLEDGE,
    SECOND_ARTICLE,
    USER,
    RunningBot,
    ask,
    assert_quiet,
    base_settings,
    bold_texts,
    bot_settings,
    buttons,
    exchange,
    ok_count,
    plain,
    wait_until,
)

# ---- answers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("question, figure, passage_words", [
    ("城市书房有多少家", "超110家", "已建成城市书房超110家"),
    ("瑞安金融专员发放的专项贷款有多少", "超30亿元", "已发放专项贷款超30亿元"),
])
def test_a_question_gets_its_figures_and_passage(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                 question: str, figure: str, passage_words: str) -> None:
    start()
    [reply] = ask(api, question, user_id=USER)
    assert reply["chat_id"] == USER and reply["parse_mode"] == "HTML"
    text = plain(reply)
    assert passage_words in text.split("\n")[0]  # the quotable sentence comes first
    assert text.rstrip().endswith("出处：《温州聚焦先行示范 十大实践样本出炉》（周琳子 叶志攀）")
    bold = bold_texts(reply)
    assert bold[0] == figure  # the asked-for figure, in bold, in its sentence
    assert any(b.startswith("【样本") for b in bold)  # passage headings in bold
    fb = [data for _, data in buttons(reply)]
    assert len(fb) == 2 and fb[0].startswith("fb:+:") and fb[1].startswith("fb:-:")


def test_every_example_question_is_answered_with_a_figure(engine: Engine) -> None:
    examples = load_examples(KNOWLEDGE)
    assert 4 <= len(examples) <= 6
    for question in examples:
        answer = engine.answer(question)
        assert answer.answered and answer.figures, question


def test_off_topic_question_abstains_kindly_with_topic_buttons(api: FakeBotAPI,
                                                               start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "火星上有多少人？")
    assert "没有讲到这个问题" in plain(reply)
    assert buttons(reply) == [("📚 看看我能回答哪些方面", "topics")]  # one button: a list would bury the reply
    [menu] = exchange(api, lambda: api.send_callback("topics"))
    assert "我载入了 2 篇文章" in plain(menu) and "t:intro" in [d for _, d in buttons(menu)]


def test_a_number_the_article_does_not_give_shows_the_related_passage(engine: Engine) -> None:
    answer = engine.answer("乐清社会大救助一共帮助了多少人")
    assert answer.reason == "no_figure"
    [part] = telegram_messages(answer.spans)
    text = parse_telegram_html(part)[0]
    assert text == answer.reply  # Telegram shows the words `ask` prints
    assert "讲到了乐清社会大救助，但没有给出一共帮助了多少人" in text and "出处：《" in text  # names what is missing


def test_traditional_question_gets_a_traditional_reply(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "溫州的城市書房有多少家？")
    text = plain(reply)
    assert "超110家" in text and "書房" in text and "書房" in reply["text"]
    assert "书房" not in text and "出处" not in text and "出處" in text
    assert all(re.fullmatch(r"fb:[+-]:\d+:[\w-]{8}", d) for _, d in buttons(reply))  # callback data untouched


def test_a_very_long_question_is_cut_and_the_reply_says_so(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    question = "温州城市书房有多少家。" * 1000  # 11,000 characters, the same question over and over
    replies = ask(api, question)
    assert "问题太长" in plain(replies[0]) and "超110家" in plain(replies[0])
    assert all(utf16_len(plain(c.params)) <= MAX_MESSAGE_UTF16 for c in api.calls("sendMessage"))


def test_a_long_reply_is_split_into_valid_messages_with_the_buttons_last(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    bot = start()
    bot.bot.message_limit = 60  # Telegram's 4096 is never reached by this article's answers
    exchange(api, lambda: api.send_text("城市书房有多少家"), n=3)
    time.sleep(0.3)
    replies = [c.params for c in api.calls("sendMessage") if c.ok]
    assert len(replies) >= 3
    assert all(utf16_len(plain(r)) <= 60 for r in replies)
    assert [bool(buttons(r)) for r in replies] == [False] * (len(replies) - 1) + [True]
    joined = "".join(plain(r) for r in replies)
    assert joined.startswith("目前,温州市已建成城市书房超110家")


# ---- commands and buttons -----------------------------------------------------------------------


def test_start_greets_with_the_source_and_example_buttons_that_answer(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [greeting] = ask(api, "/start")
    text = plain(greeting)
    assert "你好" in text and "《温州聚焦先行示范 十大实践样本出炉》（周琳子 叶志攀）" in text
    assert "《节水型城市建设三项举措见实效》（林晓 王川）" in text and "共 15 部分" in text
    examples = buttons(greeting)
    assert 3 <= len(examples) <= 4 and examples[0] == ("温州的城市书房有多少家？", "ex:0")
    commands = api.wait_for("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in commands} >= {"start", "help", "topics", "about", "ask"}
    [answer] = exchange(api, lambda: api.send_callback("ex:0"))
    assert "超110家" in plain(answer)
    api.wait_for("answerCallbackQuery")


def test_topics_buttons_show_a_summary_with_figures(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [menu] = ask(api, "/topics")
    assert "我载入了 2 篇文章" in plain(menu) and "1. 《温州聚焦先行示范 十大实践样本出炉》" in plain(menu)
    labels = buttons(menu)
    assert labels[0] == ("📄《温州聚焦先行示范 十大实践样本出炉》", "a:wenzhou-ten-samples")
    assert labels[9][1] == "t:s8" and labels[9][0] == "样本八 · 城乡阅读一体 文化惠民 奔富"  # no article on the button
    [card] = exchange(api, lambda: api.send_callback("t:s8"))
    text = plain(card)
    assert text.startswith("样本八 · 城乡阅读一体 文化惠民 奔富（《温州聚焦先行示范 十大实践样本出炉》）")
    assert "为满足群众享受优质阅读服务需求" in text
    assert {"超110家", "120多万册", "3/4"} <= set(bold_texts(card))
    assert api.wait_for("answerCallbackQuery")


def test_a_cards_figures_are_listed_alike_without_closing_punctuation(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    for topic in ("t:intro", "t:s2", "t:s8"):  # their last clauses end sentences, the others clauses
        [card] = exchange(api, lambda data=topic: api.send_callback(data))
        items = [line.removeprefix("· ") for line in plain(card).split("\n") if line.startswith("· ")]
        assert len(items) >= 3 and not [item for item in items if item[-1] in "，,。；;！？!?"], (topic, items)


def test_topics_are_grouped_by_article_and_paged(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [menu] = ask(api, "/topics")
    first = buttons(menu)
    sections = [d for _, d in first if d.startswith("t:")]
    assert sections == ["t:intro"] + [f"t:s{n}" for n in range(1, 11)]  # a whole article a page
    assert first[-1] == ("下一页 ▶（2/2）", "tp:1")
    [page] = exchange(api, lambda: api.send_callback("tp:1", message=api.sent_messages()[-1]),
                      method="editMessageReplyMarkup")
    second = buttons(page)
    assert second[0] == ("📄《节水型城市建设三项举措见实效》", "a:water-saving-city")
    assert [d for _, d in second if d.startswith("t:")] == [f"t:water-saving-city-{n}" for n in range(4)]
    assert second[-1] == ("◀ 上一页", "tp:0")
    assert not set(sections) & {d for _, d in second}  # every section on exactly one page
    exchange(api, lambda: api.send_callback("a:water-saving-city", message=api.sent_messages()[-1]),
             method="answerCallbackQuery")  # the article's header: a notice naming it
    notice = api.calls("answerCallbackQuery")[-1].params["text"]
    assert notice.startswith("《节水型城市建设三项举措见实效》（林晓 王川）：共 4 部分")
    [card] = exchange(api, lambda: api.send_callback("t:water-saving-city-2"))
    assert plain(card).startswith("二、改造老旧管网降低漏损（《节水型城市建设三项举措见实效》）")
    assert "8.5%" in bold_texts(card)


def test_help_and_about(api: FakeBotAPI, start: Callable[..., RunningBot], engine: Engine) -> None:
    start()
    [help_reply] = ask(api, "/help")
    assert "/ask" in plain(help_reply) and "群" in plain(help_reply)
    [about] = ask(api, "/about")
    text = plain(about)
    assert engine.index.build_id in text and f"{engine.index.manifest['chunk_count']} 段原文" in text
    assert "周琳子" in text and "共 2 篇文章、15 部分" in text
    assert "· 《节水型城市建设三项举措见实效》（林晓 王川），4 部分\n  来源：本项目编写的示例文章（用于演示多篇文章" in text
    assert "）（" not in text and max(map(parenthesis_depth, text.split("\n"))) == 1  # never （…（…））


def parenthesis_depth(line: str) -> int:
    """How deep full-width parentheses nest in ``line``."""
    depth = deepest = 0
    for char in line:
        depth += {"（": 1, "）": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def test_ask_command_works_in_private_chats_and_needs_a_question(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "/ask 城市书房有多少家")
    assert "超110家" in plain(reply)
    [usage] = ask(api, "/ask")
    assert "用法" in plain(usage)


# ---- feedback -----------------------------------------------------------------------------------------


def test_feedback_is_stored_with_a_hashed_user_and_survives_a_restart(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path) -> None:
    running = start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    up = buttons(reply)[0][1]
    question_id = int(up.split(":")[2])
    message = api.sent_messages(USER)[-1]

    [edit] = exchange(api, lambda: api.send_callback(up, user_id=USER, message=message),
                      method="editMessageReplyMarkup")
    assert [t for t, _ in buttons(edit)] == ["✅ 👍 有用", "👎 没用"]
    answered = api.wait_for("answerCallbackQuery")[-1]
    assert answered.params["text"].startswith("谢谢反馈")

    running.stop()  # a restart: a new application and store on the same database
    start()
    down = buttons(reply)[1][1]
    [edit] = exchange(api, lambda: api.send_callback(down, user_id=USER, message=api.sent_messages(USER)[-1]),
                      method="editMessageReplyMarkup")
    assert [t for t, _ in buttons(edit)] == ["👍 有用", "✅ 👎 没用"]

    database = tmp_path / "data" / "feedback.sqlite3"
    with sqlite3.connect(database) as connection:
        votes = connection.execute("SELECT question_id, user_hash, vote FROM feedback").fetchall()
        question = connection.execute("SELECT question, answered, passage_ids, user_hash FROM questions").fetchall()
    assert len(votes) == 1 and votes[0][0] == question_id and votes[0][2] == -1  # one vote, replaced
    assert question[0][0] == "城市书房有多少家" and question[0][1] == 1 and any(p.startswith("s8-") for p in json.loads(question[0][2]))
    assert votes[0][1] == question[0][3] and re.fullmatch(r"[0-9a-f]{64}", votes[0][1])
    for path in database.parent.iterdir():  # the database, its WAL and the salt file
        assert str(USER).encode() not in path.read_bytes(), path


def test_an_answer_goes_out_even_when_the_feedback_database_is_broken(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    start(feedback_db=str(broken))
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(reply) and buttons(reply) == []  # nothing stored, so no vote buttons
    assert any("feedback store: could not store a question" in r.getMessage() for r in caplog.records)
    [again] = ask(api, "瑞安金融专员发放的专项贷款有多少")
    assert "超30亿元" in plain(again)


def test_an_unwritable_feedback_location_still_answers(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    start(feedback_db=str(blocker / "feedback.sqlite3"))  # its parent cannot be created, even by root
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(reply)
    assert any(r.levelno == logging.ERROR and "feedback" in r.getMessage() for r in caplog.records)


def test_a_store_that_raises_on_votes_still_answers_the_press(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    running = start()
    [reply] = ask(api, "城市书房有多少家")

    def full_disk() -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(running.store, "_open", full_disk)
    exchange(api, lambda: api.send_callback(buttons(reply)[0][1]), method="answerCallbackQuery")
    assert "没保存成功" in api.calls("answerCallbackQuery")[-1].params["text"]
    [again] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(again)


# ---- chats, messages and limits ---------------------------------------------------------------------


def test_groups_get_answers_only_when_the_bot_is_addressed(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    api.send_text("城市书房有多少家", chat_type="supergroup", user_id=2002)
    assert_quiet(api, DEFAULT_GROUP_ID)
    [mentioned] = ask(api, "@wenzhou_qa_bot 城市书房有多少家", chat_type="supergroup", user_id=2002)
    assert "超110家" in plain(mentioned) and mentioned["reply_parameters"]["message_id"] == 2
    [asked] = ask(api, "/ask@wenzhou_qa_bot 瑞安金融专员发放的专项贷款有多少", chat_type="supergroup", user_id=2003)
    assert "超30亿元" in plain(asked)
    bot_message = api.sent_messages(DEFAULT_GROUP_ID)[-1]
    [replied] = ask(api, "大病保险报销比例提高到了多少？", chat_type="supergroup", user_id=2004,
                    reply_to_message=bot_message)
    assert "80%" in plain(replied)
    assert len(api.sent_messages(DEFAULT_GROUP_ID)) == 3


@pytest.mark.parametrize("send", ["sticker", "photo", "voice", "location"])
def test_non_text_messages_get_a_hint(api: FakeBotAPI, start: Callable[..., RunningBot], send: str) -> None:
    start()
    [hint] = exchange(api, getattr(api, f"send_{send}"))
    assert "文字" in plain(hint)


def test_an_edited_question_is_answered_again(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [first] = ask(api, "城市书房有多少家")
    [edited] = exchange(api, lambda: api.send_edited_text(1, "瑞安金融专员发放的专项贷款有多少"))
    assert "超110家" in plain(first) and "超30亿元" in plain(edited)
    assert edited["reply_parameters"]["message_id"] == 1  # quotes the edited question


def test_per_user_rate_limit_replies_once_then_stays_quiet(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start(rate_limit_per_minute=2)
    ask(api, "城市书房有多少家")
    ask(api, "城市书房有多少家")
    [limited] = ask(api, "城市书房有多少家")
    assert "有点快" in plain(limited) and "秒后再问" in plain(limited)
    api.send_text("城市书房有多少家")  # over the limit again: no second notice
    [other] = ask(api, "城市书房有多少家", user_id=1002)  # other users are served
    assert "超110家" in plain(other)
    time.sleep(0.2)
    assert len(api.sent_messages(1001)) == 3


def test_sliding_window_limiter() -> None:
    now = [0.0]
    limiter = RateLimiter("questions", 2, window=60, clock=lambda: now[0])
    assert limiter.check(1).allowed and limiter.check(1).allowed
    over = limiter.check(1)
    assert not over.allowed and over.tell and over.wait == 60
    now[0] = 30
    over = limiter.check(1)
    assert (over.allowed, over.tell) == (False, False)
    now[0] = 60.5  # the first two questions left the window
    assert limiter.check(1).allowed
    assert RateLimiter("questions", 0).check(1).allowed


# ---- admin ---------------------------------------------------------------------------------------------


def test_admin_commands_are_refused_to_others_and_logged_hashed(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture) -> None:
    start()
    caplog.set_level(logging.INFO)
    for command in ("/stats", "/reload"):
        [refusal] = ask(api, command, user_id=USER)
        assert "只有管理员" in plain(refusal)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2 and "/stats" in refusals[0] and "/reload" in refusals[1]
    assert str(USER) not in caplog.text


def test_admin_stats(api: FakeBotAPI, start: Callable[..., RunningBot], engine: Engine) -> None:
    start()
    ask(api, "城市书房有多少家")
    ask(api, "火星上有多少人？")
    [stats] = ask(api, "/stats", user_id=ADMIN)
    text = plain(stats)
    assert "回答 1 个问题" in text and "未回答 1 个" in text and engine.index.build_id in text
    assert "运行时间" in text and "数据库累计：问题 2 个" in text


def test_admin_reload_picks_up_a_new_build_and_survives_a_broken_one(
        api: FakeBotAPI, start: Callable[..., RunningBot], index_dir: Path, embedder: Embedder,
        tmp_path: Path) -> None:
    own_index = tmp_path / "index"
    shutil.copytree(index_dir, own_index)
    settings = base_settings(index_dir=str(own_index))
    own_engine = Engine(settings, embedder=embedder)
    old = own_engine.index.build_id
    start(engine_=own_engine, index_dir=str(own_index), auto_reload_seconds=0)  # /reload alone loads
    [same] = ask(api, "/reload", user_id=ADMIN)
    assert plain(same) == f"已是最新（索引 {old}）"

    new = build_index(settings, lambda _: embedder).path.name  # unchanged passages are reused: fast
    [loaded] = ask(api, "/reload", user_id=ADMIN)
    assert plain(loaded) == f"已加载新索引 {new}" and new != old
    assert own_engine.index.build_id == new

    newest = build_index(settings, lambda _: embedder).path
    (newest / "vectors.npy").write_bytes(b"damaged")
    [failed] = ask(api, "/reload", user_id=ADMIN)
    assert "加载失败" in plain(failed) and new in plain(failed)
    [answer] = ask(api, "城市书房有多少家")  # the old index keeps serving
    assert "超110家" in plain(answer) and own_engine.index.build_id == new


def test_auto_reload_loads_a_new_build(api: FakeBotAPI, start: Callable[..., RunningBot], index_dir: Path,
                                       embedder: Embedder, tmp_path: Path) -> None:
    own_index = tmp_path / "index"
    shutil.copytree(index_dir, own_index)
    settings = base_settings(index_dir=str(own_index))
    own_engine = Engine(settings, embedder=embedder)
    start(engine_=own_engine, index_dir=str(own_index), auto_reload_seconds=1)
    new = build_index(settings, lambda _: embedder).path.name
    wait_until(lambda: own_engine.index.build_id == new, "the new build to be loaded automatically")


def test_auto_reload_leaves_alone_the_damaged_build_it_started_past(
        api: FakeBotAPI, start: Callable[..., RunningBot], index_dir: Path, embedder: Embedder, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Started on the newest intact build because CURRENT names a damaged one: the automatic reload does not
    try (and log) that one every interval, and still loads the next good build."""
    caplog.set_level(logging.INFO)
    own_index = tmp_path / "index"
    shutil.copytree(index_dir, own_index)
    settings = base_settings(index_dir=str(own_index))
    intact = Engine(settings, embedder=embedder).index.build_id
    damaged = build_index(settings, lambda _: embedder).path
    (damaged / "faiss.index").write_bytes(b"truncated")
    own_engine = Engine(settings, embedder=embedder)
    assert own_engine.index.build_id == intact and own_engine.index.passed_over == damaged.name
    start(engine_=own_engine, index_dir=str(own_index), auto_reload_seconds=1)
    [answer] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(answer)
    time.sleep(2.5)
    assert not [r for r in caplog.records if "auto reload" in r.getMessage()]
    new = build_index(settings, lambda _: embedder).path.name
    wait_until(lambda: own_engine.index.build_id == new, "the next good build to be loaded automatically")


# ---- faults ----------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize("telegram_rate_limiter", [True, False])
def test_flood_control_on_send_is_retried_and_the_answer_arrives_once(
        api: FakeBotAPI, start: Callable[..., RunningBot], telegram_rate_limiter: bool) -> None:
    start(telegram_rate_limiter=telegram_rate_limiter)
    api.inject("sendMessage", Fault.flood(retry_after=1))
    started = time.monotonic()
    [reply] = ask(api, "城市书房有多少家")
    assert time.monotonic() - started >= 1.0  # retry_after was honoured
    assert "超110家" in plain(reply)
    assert [c.status for c in api.calls("sendMessage")] == [429, 200]
    time.sleep(0.2)
    assert len(api.sent_messages()) == 1
    [after] = ask(api, "瑞安金融专员发放的专项贷款有多少")
    assert "超30亿元" in plain(after)


@pytest.mark.parametrize("fault", [Fault.server_error(502), Fault.drop(), Fault.malformed()],
                         ids=["5xx", "drop", "malformed"])
def test_send_failures_are_retried(api: FakeBotAPI, start: Callable[..., RunningBot], fault: Fault) -> None:
    running = start()
    api.inject("sendMessage", fault, times=2)
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(reply) and len(api.sent_messages()) == 1
    assert running.application.bot.rate_limiter.retried == 2


def test_a_send_that_keeps_failing_is_logged_and_the_bot_keeps_serving(
        api: FakeBotAPI, start: Callable[..., RunningBot], caplog: pytest.LogCaptureFixture) -> None:
    running = start(telegram_send_deadline=0.5)
    api.outage(2.0, when_fetched=True)  # down for longer than the bot retries
    api.send_text("城市书房有多少家")
    wait_until(lambda: any("error while handling an update" in r.getMessage() for r in caplog.records),
               "the error to be logged")
    wait_until(lambda: running.bot.stats.errors == 1, "the error to be counted")
    attempts = api.calls("sendMessage")
    assert len(attempts) >= 2 and not any(c.ok for c in attempts)  # retried, and given up
    assert attempts[-1].time - attempts[0].time <= 0.5  # within the deadline
    [reply] = exchange(api, lambda: api.send_text("城市书房有多少家"), timeout=15)  # after the outage
    assert "超110家" in plain(reply)


@pytest.mark.parametrize("fault", [Fault.server_error(500), Fault.drop()], ids=["500", "drop"])
def test_polling_survives_get_updates_failures(api: FakeBotAPI, start: Callable[..., RunningBot], fault: Fault,
                                               caplog: pytest.LogCaptureFixture) -> None:
    running = start()
    api.inject("getUpdates", fault)
    api.wait_for("getUpdates", count=1, ok_only=False, predicate=lambda c: c.fault is not None)
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(reply)
    assert any("polling for updates failed, retrying" in r.getMessage() for r in caplog.records)
    assert running.bot.stats.errors == 0  # a transient polling failure is not a handler error


def test_many_users_at_once_each_get_their_own_answer(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start(rate_limit_per_minute=0)
    questions = {"城市书房有多少家": "超110家", "瑞安金融专员发放的专项贷款有多少": "超30亿元",
                 "大病保险报销比例提高到了多少？": "80%", "世界青年科学家峰会举办了几届？": "3届"}
    users = {5000 + i: list(questions)[i % len(questions)] for i in range(40)}
    exchange(api, lambda: [api.send_text(q, user_id=u) for u, q in users.items()], n=len(users), timeout=30)
    for user, question in users.items():
        [reply] = api.sent_messages(user)
        assert questions[question] in reply["text"], (user, question)


def test_the_token_never_reaches_the_logs(api: FakeBotAPI, start: Callable[..., RunningBot],
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    running = start(telegram_send_deadline=0.2)
    logging.getLogger("httpx").setLevel(logging.INFO)  # httpx logs every URL, token included, at INFO
    try:
        api.outage(1.0, when_fetched=True)  # the send fails for longer than the bot retries
        api.send_text("城市书房有多少家")
        wait_until(lambda: running.bot.stats.errors == 1, "the failed send")
        api.inject("getUpdates", Fault.drop())
        [reply] = exchange(api, lambda: api.send_text("瑞安金融专员发放的专项贷款有多少"), timeout=15)
        assert "超30亿元" in plain(reply)
        logging.getLogger("bot.test").error("a URL: %s", f"{api.base_url}{api.token}/getMe")
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    assert f"bot{REDACTED}" in caplog.text  # the URLs were logged, redacted
    assert api.token not in caplog.text and api.token.split(":")[1] not in caplog.text
    assert "Traceback" in caplog.text  # the failed send was logged with its traceback


def test_serve_without_a_token_exits_with_a_clear_message(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    assert cli.main(["serve"]) == 1
    error = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in error and "没有设置机器人令牌" in error and "python -m bot chat" in error


def test_serve_with_a_rejected_token_exits_without_showing_it(
        api: FakeBotAPI, tmp_path: Path, index_dir: Path, engine: Engine,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "987654:WRONG-secret-token_value"
    settings = bot_settings(api, tmp_path, index_dir, telegram_token=wrong, telegram_send_retries=0)
    assert serve(settings, engine=engine) == 1
    error = capsys.readouterr().err
    assert "InvalidToken" in error and REDACTED in error
    assert wrong not in error and "WRONG-secret" not in error
    assert wrong not in caplog.text and "WRONG-secret" not in caplog.text
    assert any(r.exc_text or r.exc_info for r in caplog.records)  # the traceback was logged, redacted


def test_redaction_of_text_and_log_records() -> None:
    token = "123456:ABC-def_ghi"
    assert redact(f"POST https://api.telegram.org/bot{token}/getMe", [token]) == \
        f"POST https://api.telegram.org/bot{REDACTED}/getMe"
    assert redact("GET /bot999:other-token/x") == f"GET /bot{REDACTED}/x"  # any token in a Bot API URL
    assert redact("token 123456%3AABC-def_ghi", [token]) == f"token {REDACTED}"
    logger = logging.getLogger("bot.test.redaction")
    logger.propagate = False
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    try:
        install_redaction([token], logger)
        try:
            raise RuntimeError(f"The token `{token}` was rejected")
        except RuntimeError:
            logger.exception("failed with %s", token)
    finally:
        logger.removeHandler(handler)
    assert records and token not in records[0] and records[0].count(REDACTED) == 2


# ---- webhook ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_webhook_rejects_requests_without_the_secret(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                     tmp_path: Path, index_dir: Path) -> None:
    secret = "s3cret_webhook-TOKEN"
    changes = dict(telegram_mode="webhook", webhook_url="https://bot.example.org/telegram/hook",
                   webhook_listen="127.0.0.1", webhook_port=free_port(), webhook_secret=secret)
    options = webhook_options(bot_settings(api, tmp_path, index_dir, **changes))
    assert options["url_path"] == "telegram/hook" and options["secret_token"] == secret
    start(webhook=options, **changes)
    [registered] = api.wait_for("setWebhook")
    assert registered.params["url"] == changes["webhook_url"] and registered.params["secret_token"] == secret

    url = f"http://127.0.0.1:{changes['webhook_port']}/telegram/hook"
    update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "城市书房有多少家",
                                          "chat": {"id": USER, "type": "private", "first_name": "u"},
                                          "from": {"id": USER, "is_bot": False, "first_name": "u"}}}
    assert httpx.post(url, json=update).status_code == 403
    assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
    time.sleep(0.2)
    assert ok_count(api, "sendMessage") == 0
    accepted = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert accepted.status_code == 200
    [reply] = [c.params for c in api.wait_for("sendMessage")]
    assert "超110家" in plain(reply)
    update["update_id"], update["message"]["text"] = 2, "瑞安金融专员发放的专项贷款有多少"
    [reply] = exchange(api, lambda: httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}))
    assert "超30亿元" in plain(reply)


def test_webhook_mode_needs_https_and_a_secret(api: FakeBotAPI, tmp_path: Path, index_dir: Path) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="https"):
        webhook_options(bot_settings(api, tmp_path, index_dir, webhook_url="http://x.org/hook",
                                     webhook_secret="abc"))
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_options(bot_settings(api, tmp_path, index_dir, webhook_url="https://x.org/hook"))


# ---- formatting, directly --------------------------------------------------------------------------------


def test_summary_takes_whole_first_sentences() -> None:
    paragraphs = ["第一句话。第二句话！第三句话很长很长。", "下一段。"]
    assert summary_of(paragraphs, 10) == "第一句话。第二句话！"
    assert summary_of(["没有句号的一段很长的话" * 5], 10) == "没有句号的一段很长…"


def test_load_examples_validates(tmp_path: Path) -> None:
    assert load_examples(tmp_path) == []
    (tmp_path / "examples.yaml").write_text("questions: [好问题, '']\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="item 2"):
        load_examples(tmp_path)
    (tmp_path / "examples.yaml").write_text("questions: 不是列表\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="questions"):
        load_examples(tmp_path)


# ---- conversation ----------------------------------------------------------------------------------------


def test_a_follow_up_is_answered_in_context_and_survives_a_restart(api: FakeBotAPI,
                                                                   start: Callable[..., RunningBot]) -> None:
    running = start()
    ask(api, "温州的城市书房有多少家？", user_id=USER)
    [reply] = ask(api, "接待了多少人次？", user_id=USER)
    assert "1400多万人次" in bold_texts(reply)
    running.stop()  # the chat's last question is kept in the conversation store
    start()
    [reply] = ask(api, "藏书有多少册呢", user_id=USER)
    assert "120多万册" in bold_texts(reply)


def test_small_talk_gets_a_short_reply_without_buttons_and_is_not_recorded(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path) -> None:
    start()
    [reply] = ask(api, "你好！", user_id=USER)
    assert "问题" in plain(reply) and not buttons(reply) and "没有讲到" not in plain(reply)
    [reply] = ask(api, "謝謝", user_id=USER)
    assert "問題" in plain(reply)
    with sqlite3.connect(tmp_path / "data" / "feedback.sqlite3") as connection:
        assert connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 0


def test_two_questions_in_one_message_get_one_reply_answering_both(api: FakeBotAPI,
                                                                   start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "城市书房有多少家？托位新增多少个？", user_id=USER)
    text = plain(reply)
    assert "超110家" in text and "1.1万个" in text and buttons(reply)


def test_each_question_of_a_numbered_reply_is_bold_up_to_its_line_break(api: FakeBotAPI,
                                                                       start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "城市书房有多少家？托位新增多少个？", user_id=USER)
    bold = bold_texts(reply)
    assert bold[0] == "1. 城市书房有多少家？" and "2. 托位新增多少个？" in bold
    assert all(b == b.strip() for b in bold)  # a bold run never starts or ends with a space or line break


def test_texts_come_from_the_content_not_from_code(api: FakeBotAPI, start: Callable[..., RunningBot],
                                                   embedder: Embedder, tmp_path: Path) -> None:
    """Served with only the second article, no command text mentions the seed article."""
    knowledge = tmp_path / "only-water"
    knowledge.mkdir()
    shutil.copytree(SECOND_ARTICLE, knowledge / SECOND_ARTICLE.name)
    settings = base_settings(knowledge_dir=str(knowledge), index_dir=str(tmp_path / "index"))
    build_index(settings, lambda _: embedder)
    own = Engine(settings, embedder=embedder)
    start(engine_=own, knowledge_dir=str(knowledge), index_dir=str(tmp_path / "index"))
    texts = {command: plain(ask(api, command)[0]) for command in ("/start", "/help", "/topics", "/about")}
    for command, text in texts.items():
        assert not re.search("温州|样本|十大|十个", text), (command, text)
    assert "我是《节水型城市建设三项举措见实效》问答机器人" in texts["/start"]
    assert "共 4 部分" in texts["/start"] and "《节水型城市建设三项举措见实效》（林晓 王川）共 4 部分" in texts["/topics"]
    [menu] = ask(api, "/topics")
    assert [d for _, d in buttons(menu)] == [f"t:water-saving-city-{n}" for n in range(4)]  # one article: no header
    assert [t for t, _ in buttons(menu)][1] == "一、阶梯水价引导居民节约用水"
