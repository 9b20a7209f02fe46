"""Telegram beyond one answer, end to end against devtools.fakeapi.FakeBotAPI: inline mode, deep links, the
typing indicator, what was wrong after a 👎, /feedback comments, labels in the user's script, and the report
showing what the user read."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.engine import Engine
from bot.normalize import to_traditional
from bot.reply import Answer
from devtools.fakeapi import DEFAULT_GROUP_ID, FakeBotAPI, Fault
from tests.helpers import USER, RunningBot, ask, bold_texts, buttons, exchange, plain, wait_until

SOURCE = "出处：《温州聚焦先行示范 十大实践样本出炉》（周琳子 叶志攀）"


def inline_answer(api: FakeBotAPI, query: str, **kwargs: Any) -> dict[str, Any]:
    """Type ``@bot query`` and return the parameters of the bot's answerInlineQuery."""
    [call] = exchange(api, lambda: api.send_inline_query(query, **kwargs), method="answerInlineQuery")
    return call


def content(result: dict[str, Any]) -> dict[str, Any]:
    """An inline result's message as sendMessage parameters (for ``plain`` and ``bold_texts``)."""
    message = result["input_message_content"]
    return {"text": message["message_text"], "parse_mode": message.get("parse_mode")}


class _Index:
    def __init__(self, index: Any, build_id: str) -> None:
        self._index = index
        self.build_id = build_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


class CountingEngine:
    """The session's engine, counting the questions it answers; ``build_id`` stands for a reload."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.questions: list[str] = []
        self.build_id = engine.index.build_id

    def answer(self, question: str) -> Answer:
        self.questions.append(question)
        return dataclasses.replace(self._engine.answer(question), build=self.build_id)

    @property
    def index(self) -> _Index:
        return _Index(self._engine.index, self.build_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


# ---- inline mode ------------------------------------------------------------------------------------


def test_inline_query_offers_the_quotable_answer_with_its_source(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    answer = inline_answer(api, "城市书房有多少家？", user_id=USER)
    [result] = answer["results"]
    sent = content(result)
    assert sent["parse_mode"] == "HTML"
    first, source = plain(sent).split("\n\n")  # the quotable sentence, then the source: nothing else
    assert first.startswith("目前,温州市已建成城市书房超110家") and first.endswith("。") and source == SOURCE
    assert bold_texts(sent) == ["超110家"]
    assert result["title"].startswith("目前,温州市已建成城市书房超110家") and len(result["title"]) <= 60
    assert "样本八" in result["description"]
    assert answer["cache_time"] == 300


def test_an_inline_result_names_the_article_of_its_sentence_once(api: FakeBotAPI,
                                                                 start: Callable[..., RunningBot]) -> None:
    start()
    [result] = inline_answer(api, "城市书房有多少家？")["results"]
    assert result["description"] == "样本八 · 城乡阅读一体 文化惠民 奔富 · 《温州聚焦先行示范 十大实践样本出炉》"
    # the reply quotes its sentence from one article and its supporting passage from the other
    [result] = inline_answer(api, "漏损率降到多少，书房有多少家")["results"]
    sentence, source = plain(content(result)).split("\n\n")
    water, wenzhou = "《节水型城市建设三项举措见实效》", "《温州聚焦先行示范 十大实践样本出炉》"
    own, other = (water, wenzhou) if "漏损率降至8.5%" in sentence else (wenzhou, water)
    assert "漏损率降至8.5%" in sentence or "城市书房超110家" in sentence
    assert source.startswith(f"出处：{own}") and other not in source
    assert result["description"].endswith(f" · {own}") and result["description"].count("《") == 1


def test_inline_query_in_traditional_gets_a_traditional_result(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [result] = inline_answer(api, "溫州的城市書房有多少家")["results"]
    text = plain(content(result))
    assert "書房" in text and "書房" in result["title"] and "出處" in text
    assert "书房" not in text and "出处" not in text


def test_inline_query_the_content_does_not_cover_gets_one_result_saying_so(
        api: FakeBotAPI, start: Callable[..., RunningBot], engine: Engine) -> None:
    start()
    [result] = inline_answer(api, "火星上有多少人？")["results"]
    assert "没有讲到" in result["title"]
    assert plain(content(result)) == f"{engine.state.source}没有讲到“火星上有多少人？”。"


def test_an_empty_inline_query_gets_a_hint_that_opens_a_private_chat(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    answer = inline_answer(api, "   ")
    assert answer["results"] == []
    assert "城市书房有多少家" in answer["button"]["text"]
    [greeting] = exchange(api, lambda: api.open_link(answer["button"]["start_parameter"]))
    assert "你好" in plain(greeting)  # the hint's link is no topic: the usual greeting


def test_inline_answers_are_cached_per_question_and_index_build(
        api: FakeBotAPI, start: Callable[..., RunningBot], engine: Engine) -> None:
    counting = CountingEngine(engine)
    start(engine_=counting)
    counting.questions.clear()  # the warm-up at start
    first = inline_answer(api, "城市书房有多少家？")
    again = inline_answer(api, " 城市书房 有多少家 ")  # the same question typed differently
    assert again["results"] == first["results"] and len(counting.questions) == 1
    inline_answer(api, "城市書房有多少家")  # Traditional: a result in Traditional, asked anew
    assert len(counting.questions) == 2
    counting.build_id = "a-newer-build"  # a reload: nothing of the old build is served
    inline_answer(api, "城市书房有多少家？")
    assert len(counting.questions) == 3


def test_inline_mode_survives_a_query_telegram_no_longer_accepts(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    api.inject("answerInlineQuery", Fault.bad_request("Bad Request: query is too old and response timeout "
                                                      "expired or query ID is invalid"))
    api.send_inline_query("城市书房有多少家")
    api.wait_for("answerInlineQuery", ok_only=False)
    [reply] = ask(api, "城市书房有多少家")  # the bot goes on serving
    assert "超110家" in plain(reply)


# ---- deep links ---------------------------------------------------------------------------------------


def test_a_deep_link_opens_its_topic_and_an_unknown_one_greets(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [card] = exchange(api, lambda: api.open_link("s8"))
    assert plain(card).startswith("样本八") and "超110家" in bold_texts(card)
    [greeting] = exchange(api, lambda: api.open_link("s99"))
    assert "你好" in plain(greeting) and "样本八" not in plain(greeting)
    [greeting] = exchange(api, lambda: api.open_link("-b5qC5pys"))  # encoded, but no such section
    assert "你好" in plain(greeting)


# ---- typing --------------------------------------------------------------------------------------------


def test_typing_is_shown_before_the_answer(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    ask(api, "城市书房有多少家", user_id=USER)
    calls = [c for c in api.calls() if c.method in ("sendChatAction", "sendMessage")]
    assert [c.method for c in calls] == ["sendChatAction", "sendMessage"]
    assert calls[0].params == {"chat_id": USER, "action": "typing"}


def test_an_answer_goes_out_when_the_typing_indicator_fails(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    api.inject("sendChatAction", Fault.bad_request("Bad Request: not enough rights"))
    [reply] = ask(api, "城市书房有多少家")
    assert "超110家" in plain(reply)


# ---- what was wrong, comments, the report ---------------------------------------------------------------


def vote_down(api: FakeBotAPI, reply: dict[str, Any], user_id: int = USER) -> dict[str, Any]:
    """Press 👎 under ``reply``; the bot's "what was wrong?" prompt."""
    answer = api.sent_messages(reply["chat_id"])[-1]
    [prompt] = exchange(api, lambda: api.send_callback(buttons(reply)[1][1], user_id=user_id, message=answer))
    return prompt


def test_a_down_vote_asks_what_was_wrong_and_the_report_shows_it(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    prompt = vote_down(api, reply)
    assert "哪里不对" in plain(prompt)
    question_id = buttons(reply)[0][1].split(":")[2]
    assert buttons(prompt) == [("答非所问", f"why:off:{question_id}"), ("数字不对", f"why:figure:{question_id}"),
                               ("没找到", f"why:missing:{question_id}"), ("其他", f"why:other:{question_id}")]

    prompt_message = api.sent_messages(USER)[-1]
    [edit] = exchange(api, lambda: api.send_callback(f"why:figure:{question_id}", user_id=USER,
                                                     message=prompt_message), method="editMessageReplyMarkup")
    assert ("✅ 数字不对", f"why:figure:{question_id}") in buttons(edit)
    assert api.wait_for("answerCallbackQuery", count=2)[-1].params["text"].startswith("谢谢")

    [thanks] = ask(api, "书房应该是110多家，不是超110家", user_id=USER, reply_to_message=prompt_message)
    assert "记下" in plain(thanks) and not buttons(thanks)  # taken as the reason, not as a question
    time.sleep(0.3)
    assert plain(api.sent_messages(USER)[-1]) == plain(thanks)  # and not answered as one afterwards

    database = tmp_path / "data" / "feedback.sqlite3"
    assert cli.main(["--set", f"feedback_db={database}", "report", "--json"]) == 0
    [down] = json.loads(capsys.readouterr().out)["downvoted"]
    assert down["shown"].startswith("目前,温州市已建成城市书房超110家")
    assert down["reasons"] == [{"reason": "figure", "text": "书房应该是110多家，不是超110家"}]
    assert cli.main(["--set", f"feedback_db={database}", "report"]) == 0
    text = capsys.readouterr().out
    assert "城市书房有多少家 → “目前,温州市已建成城市书房超110家" in text
    assert "哪里不对：数字不对 · 书房应该是110多家，不是超110家" in text


def test_only_the_voter_can_say_what_was_wrong(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    running = start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    vote_down(api, reply)
    question_id = int(buttons(reply)[0][1].split(":")[2])
    exchange(api, lambda: api.send_callback(f"why:off:{question_id}", user_id=USER + 1),
             method="answerCallbackQuery")
    assert "先" in api.calls("answerCallbackQuery")[-1].params["text"]
    assert running.store.report(days=0)["downvoted"][0]["reasons"] == []


def test_feedback_comments_are_stored_hashed_and_listed_in_the_report(
        api: FakeBotAPI, start: Callable[..., RunningBot], tmp_path: Path) -> None:
    running = start()
    [usage] = ask(api, "/feedback", user_id=USER)
    assert "用法" in plain(usage)
    [thanks] = ask(api, "/feedback 希望多讲讲托育 <b>&", user_id=USER)
    assert "记下" in plain(thanks)
    report = running.store.report(days=0)
    assert [c["text"] for c in report["comments"]] == ["希望多讲讲托育 <b>&"]
    with sqlite3.connect(tmp_path / "data" / "feedback.sqlite3") as connection:
        rows = connection.execute("SELECT * FROM comments").fetchall()
    assert len(rows) == 1 and str(USER) not in repr(rows)
    commands = api.wait_for("setMyCommands")[0].params["commands"]
    assert "feedback" in {c["command"] for c in commands}


def test_buttons_follow_a_traditional_users_script(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "溫州的城市書房有多少家？", user_id=USER)
    assert [t for t, _ in buttons(reply)] == ["👍 有用", "👎 沒用"]
    prompt = vote_down(api, reply)
    assert "不對" in plain(prompt) and "对" not in plain(prompt)
    assert [t for t, _ in buttons(prompt)] == ["答非所問", "數字不對", "沒找到", "其他"]
    assert [t for t, _ in buttons(api.sent_messages(USER)[-2])] == ["👍 有用", "✅ 👎 沒用"]


def test_one_decision_of_the_script_a_zh_tw_user_reads(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    """Before asking anything, a user whose Telegram speaks zh-TW gets /topics, a topic card and a deep-linked
    card all in Traditional; once they ask in Simplified, Simplified."""
    start()
    api.set_language(USER, "zh-TW")
    [menu] = ask(api, "/topics", user_id=USER)
    assert to_traditional("我载入了 2 篇文章") in plain(menu) and "载入" not in plain(menu)
    assert to_traditional("样本八 · 城乡阅读一体 文化惠民 奔富") in [t for t, _ in buttons(menu)]
    [card] = exchange(api, lambda: api.send_callback("t:s8", user_id=USER))
    [linked] = exchange(api, lambda: api.open_link("s8", user_id=USER))
    assert plain(card) == plain(linked) and plain(card).startswith(to_traditional("样本八 · 城乡阅读"))
    ask(api, "城市书房有多少家", user_id=USER)
    [menu] = ask(api, "/topics", user_id=USER)
    assert "我载入了 2 篇文章" in plain(menu)


def test_a_second_down_vote_does_not_ask_again(api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    start()
    [reply] = ask(api, "城市书房有多少家", user_id=USER)
    vote_down(api, reply)
    answer = api.sent_messages(USER)[-2]
    exchange(api, lambda: api.send_callback(buttons(reply)[1][1], user_id=USER, message=answer),
             method="answerCallbackQuery")
    time.sleep(0.3)
    assert len(api.sent_messages(USER)) == 2  # the answer and one prompt


def test_in_a_group_the_prompt_quotes_its_answer_and_only_replies_to_it_are_reasons(
        api: FakeBotAPI, start: Callable[..., RunningBot]) -> None:
    running = start()
    [reply] = ask(api, "@wenzhou_qa_bot 城市书房有多少家", user_id=USER, chat_type="supergroup")
    answer = api.sent_messages(DEFAULT_GROUP_ID)[-1]
    [prompt] = exchange(api, lambda: api.send_callback(buttons(reply)[1][1], user_id=USER,
                                                       chat_id=DEFAULT_GROUP_ID, message=answer))
    assert prompt["reply_parameters"]["message_id"] == answer["message_id"]
    prompt_message = api.sent_messages(DEFAULT_GROUP_ID)[-1]
    wait_until(lambda: running.store.prompted_question(DEFAULT_GROUP_ID, prompt_message["message_id"]) is not None,
               "the bot to remember its prompt")  # it learns the prompt's id once it is sent
    [thanks] = ask(api, "没说清楚是哪一年", user_id=USER, chat_id=DEFAULT_GROUP_ID, chat_type="supergroup",
                   reply_to_message=prompt_message)
    assert "记下" in plain(thanks)
    [down] = running.store.report(days=0)["downvoted"]
    assert down["reasons"] == [{"reason": "", "text": "没说清楚是哪一年"}]
