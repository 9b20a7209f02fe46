"""The fake Telegram Bot API, exercised through the real python-telegram-bot client.

These tests pin down that the fake behaves like Telegram where the bot's tests rely on it, and
record what PTB 22 raises for each injected fault, so retry code can be written against it.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from devtools.fakeapi import (
    ANY_METHOD,
    FakeBotAPI,
    Fault,
    HTMLParseError,
    parse_telegram_html,
    utf16_len,
)

T = TypeVar("T")
CHAT = 1001


def with_bot(api: FakeBotAPI, body: Callable[[Bot], Awaitable[T]], token: str | None = None) -> T:
    """Run ``body`` with an initialized real PTB Bot pointed at the fake."""
    async def main() -> T:
        async with Bot(token or api.token, base_url=api.base_url) as bot:
            return await body(bot)
    return asyncio.run(main())


def retry_seconds(error: RetryAfter) -> float:
    """PTB 22 gives an int or, under PTB_TIMEDELTA=1, a timedelta."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def raw_post(api: FakeBotAPI, method: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{api.base_url}{api.token}/{method}", **kwargs)


# ---- basic methods ------------------------------------------------------------------------


def test_get_me_returns_the_bot(api: FakeBotAPI) -> None:
    me = with_bot(api, lambda bot: bot.get_me())
    assert me.username == "wenzhou_qa_bot"
    assert me.is_bot and me.id == 123456
    assert me.can_read_all_group_messages is False and me.supports_inline_queries is True
    with FakeBotAPI(inline=False) as off:  # /setinline not done at @BotFather: no inline queries arrive
        assert with_bot(off, lambda bot: bot.get_me()).supports_inline_queries is False
        with pytest.raises(ValueError, match="inline mode is off"):
            off.send_inline_query("城市书房")


def test_send_message_round_trip_and_edit(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        sent = await bot.send_message(CHAT, "<b>温州</b> 鱼丸 &lt;好吃&gt;", parse_mode="HTML")
        assert sent.text == "温州 鱼丸 <好吃>"
        assert sent.entities[0].type == "bold" and sent.entities[0].length == 2
        assert sent.from_user.username == "wenzhou_qa_bot" and sent.chat.id == CHAT
        edited = await bot.edit_message_text("<i>改了</i>", chat_id=CHAT,
                                             message_id=sent.message_id, parse_mode="HTML")
        assert edited.text == "改了" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("<i>改了</i>", chat_id=CHAT,
                                        message_id=sent.message_id, parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=CHAT, message_id=999)

    with_bot(api, body)
    call = api.wait_for("sendMessage")[0]
    assert call.params == {"chat_id": CHAT, "text": "<b>温州</b> 鱼丸 &lt;好吃&gt;",
                           "parse_mode": "HTML"}
    [message] = api.sent_messages(CHAT)
    assert message["text"] == "改了" and message["message_id"] == 1


def test_message_ids_increment_per_chat_including_user_messages(api: FakeBotAPI) -> None:
    api.send_text("你好", user_id=7)

    async def body(bot: Bot) -> list[int]:
        return [(await bot.send_message(chat, "hi")).message_id for chat in (7, 7, 8)]

    assert with_bot(api, body) == [2, 3, 1]


def test_inline_keyboard_is_echoed_and_editable(api: FakeBotAPI) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("更多", callback_data="more:1")]])

    async def body(bot: Bot) -> None:
        sent = await bot.send_message(CHAT, "答案", reply_markup=keyboard)
        assert sent.reply_markup == keyboard
        cleared = await bot.edit_message_reply_markup(CHAT, sent.message_id)
        assert cleared.reply_markup is None
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_reply_markup(CHAT, sent.message_id)

    with_bot(api, body)


# ---- validation like Telegram --------------------------------------------------------------


@pytest.mark.parametrize("text", ["<b>x", "a < b", "<br>", "<b><i>x</b></i>", "R&D",
                                  '<span class="x">s</span>'])
def test_invalid_html_is_rejected(api: FakeBotAPI, text: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        with_bot(api, lambda bot: bot.send_message(CHAT, text, parse_mode="HTML"))
    assert api.sent_messages() == []


def test_message_length_limit_is_4096(api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        with_bot(api, lambda bot: bot.send_message(CHAT, "长" * 4097))
    # Markup does not count: 4096 characters after parsing are fine.
    with_bot(api, lambda bot: bot.send_message(CHAT, "<b>" + "&amp;" * 4096 + "</b>",
                                               parse_mode="HTML"))
    # Telegram counts UTF-16 code units, so an emoji counts twice.
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        with_bot(api, lambda bot: bot.send_message(CHAT, "😀" * 2049))
    assert len(api.sent_messages()) == 1


def test_empty_text_is_rejected(api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        with_bot(api, lambda bot: bot.send_message(CHAT, "<b></b>", parse_mode="HTML"))


def test_callback_data_over_64_bytes_is_rejected(api: FakeBotAPI) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="问" * 21)]])  # 63 B
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="问" * 22)]])
    with_bot(api, lambda bot: bot.send_message(CHAT, "ok", reply_markup=ok))
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        with_bot(api, lambda bot: bot.send_message(CHAT, "x", reply_markup=too_long))


def test_inline_queries_arrive_and_are_answered_once_with_valid_results(api: FakeBotAPI) -> None:
    from telegram import InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent

    def article(result_id: str, text: str = "<b>超110家</b>", title: str = "城市书房") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, title, InputTextMessageContent(text, parse_mode="HTML"))

    first, second, third = (api.send_inline_query("城市书房有多少家", user_id=7) for _ in range(3))

    async def body(bot: Bot) -> None:
        [update, *_] = await bot.get_updates()
        query = update.inline_query
        assert (query.id, query.query, query.from_user.id, query.chat_type) == (str(first), "城市书房有多少家", 7, "sender")
        await bot.answer_inline_query(query.id, [article("1")], cache_time=60)
        with pytest.raises(BadRequest, match="(?i)query is too old"):  # answered already
            await bot.answer_inline_query(query.id, [article("1")])
        for bad, reason in ((article("1", text="<b>x"), "can't parse entities"),
                            (article("x" * 65), "RESULT_ID_INVALID"), (article("1", title=" "), "RESULT_TITLE_EMPTY")):
            with pytest.raises(BadRequest, match="(?i)" + reason):
                await bot.answer_inline_query(str(second), [bad])
        with pytest.raises(BadRequest, match="(?i)RESULT_ID_DUPLICATE"):
            await bot.answer_inline_query(str(second), [article("1"), article("1")])
        with pytest.raises(BadRequest, match="(?i)START_PARAM_INVALID"):
            await bot.answer_inline_query(str(second), [], button=InlineQueryResultsButton("hint", start_parameter="中"))
        await bot.answer_inline_query(str(third), [], button=InlineQueryResultsButton("hint", start_parameter="s8"))

    with_bot(api, body)
    assert [c.ok for c in api.calls("answerInlineQuery")] == [True] + [False] * 6 + [True]
    assert api.calls("answerInlineQuery")[0].params["results"][0]["input_message_content"]["message_text"] \
        == "<b>超110家</b>"


def test_start_links_carry_only_what_telegram_allows(api: FakeBotAPI) -> None:
    api.open_link("s8", user_id=7)
    for payload in ("", "中文", "a b", "x" * 65):
        with pytest.raises(ValueError, match="start payload"):
            api.open_link(payload)

    async def body(bot: Bot) -> None:
        [update] = await bot.get_updates()
        assert update.message.text == "/start s8" and update.message.entities[0].type == "bot_command"

    with_bot(api, body)


def test_wrong_token_raises_invalid_token(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        with_bot(api, lambda bot: bot.get_me(), token="999:WRONG")
    assert api.calls()[0].status == 401


def test_unknown_method_is_404_and_methods_are_case_insensitive(api: FakeBotAPI) -> None:
    response = raw_post(api, "sendTelepathy")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert raw_post(api, "getme").json()["result"]["username"] == "wenzhou_qa_bot"
    assert [c.method for c in api.calls()] == ["sendTelepathy", "getMe"]


def test_json_and_multipart_bodies_are_accepted(api: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    as_json = raw_post(api, "sendMessage", json={"chat_id": 5, "text": "j", "reply_markup": markup})
    assert as_json.json()["result"]["reply_markup"] == markup
    multipart = raw_post(api, "sendMessage",
                         data={"chat_id": "5", "text": "123", "reply_markup": json.dumps(markup)},
                         files={"doc": ("a.txt", b"bytes")})
    result = multipart.json()["result"]
    assert result["text"] == "123" and result["reply_markup"] == markup
    assert api.calls("sendMessage")[1].params["doc"] == b"bytes"


def test_commands_round_trip(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        await bot.set_my_commands([("ask", "提问"), ("help", "帮助")])
        assert [c.command for c in await bot.get_my_commands()] == ["ask", "help"]
        await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Ask-Me", "bad")])

    with_bot(api, body)


# ---- faults: what PTB 22 raises, and no side effects ----------------------------------------


# PTB 22 warns about RetryAfter.retry_after becoming a timedelta each time it raises RetryAfter.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_raises_retry_after_and_the_retry_sends_once(api: FakeBotAPI) -> None:
    api.inject("sendMessage", Fault.flood(retry_after=1))

    async def body(bot: Bot) -> None:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "hi")
        assert retry_seconds(caught.value) == 1
        await bot.send_message(CHAT, "hi")

    with_bot(api, body)
    assert [m["text"] for m in api.sent_messages()] == ["hi"]
    assert [c.status for c in api.calls("sendMessage")] == [429, 200]
    assert api.stats()["faults"] == {"flood": 1}


def test_server_error_raises_network_error_without_side_effect(api: FakeBotAPI) -> None:
    api.inject("sendMessage", Fault.server_error(), times=2)

    async def body(bot: Bot) -> None:
        for _ in range(2):
            with pytest.raises(NetworkError, match="(?i)Internal Server Error"):
                await bot.send_message(CHAT, "hi")
        await bot.send_message(CHAT, "hi")

    with_bot(api, body)
    assert len(api.sent_messages()) == 1
    assert api.wait_for("sendMessage")[0].status == 200  # faulted calls are not "ok"


def test_drop_raises_network_error(api: FakeBotAPI) -> None:
    api.inject("sendMessage", Fault.drop())

    async def body(bot: Bot) -> None:
        with pytest.raises(NetworkError, match="(?i)RemoteProtocolError"):
            await bot.send_message(CHAT, "hi")
        await bot.send_message(CHAT, "again")

    with_bot(api, body)
    assert [m["text"] for m in api.sent_messages()] == ["again"]


def test_malformed_raises_plain_telegram_error(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        api.inject(ANY_METHOD, Fault.malformed())  # after Bot.initialize's getMe
        with pytest.raises(TelegramError, match="Invalid server response") as caught:
            await bot.send_message(CHAT, "hi")
        assert type(caught.value) is TelegramError  # not a NetworkError: retry code must catch it

    with_bot(api, body)
    assert api.sent_messages() == []


def test_slow_answers_late_but_takes_effect(api: FakeBotAPI) -> None:
    api.inject("sendMessage", Fault.slow(0.3))
    started = time.monotonic()
    with_bot(api, lambda bot: bot.send_message(CHAT, "hi"))
    assert time.monotonic() - started >= 0.3
    assert len(api.sent_messages()) == 1 and api.calls("sendMessage")[0].ok


def test_bad_request_fault(api: FakeBotAPI) -> None:
    api.inject("sendChatAction", Fault.bad_request("Bad Request: chat not found"))
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        with_bot(api, lambda bot: bot.send_chat_action(CHAT, "typing"))


# ---- updates -------------------------------------------------------------------------------


def test_long_poll_returns_an_update_enqueued_later_and_respects_offsets(
        api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        threading.Timer(0.3, api.send_text, args=("温州有什么好吃的？",)).start()
        started = time.monotonic()
        [first] = await bot.get_updates(timeout=5)
        assert 0.25 <= time.monotonic() - started < 3
        assert first.message.text == "温州有什么好吃的？"
        again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
        assert [u.update_id for u in again] == [first.update_id]
        second_id = api.send_text("second")
        updates = await bot.get_updates(offset=first.update_id + 1, timeout=0)
        assert [u.update_id for u in updates] == [second_id]
        assert await bot.get_updates(offset=second_id + 1, timeout=0) == ()

    with_bot(api, body)


def test_failed_get_updates_confirms_nothing(api: FakeBotAPI) -> None:
    first = api.send_text("a")
    api.send_text("b")
    api.inject("getUpdates", Fault.server_error(502))

    async def body(bot: Bot) -> None:
        with pytest.raises(NetworkError):
            await bot.get_updates(offset=first + 1)
        assert len(await bot.get_updates()) == 2

    with_bot(api, body)


def test_an_outage_drops_every_request_until_it_ends(api: FakeBotAPI) -> None:
    api.outage(0.5)
    with pytest.raises(NetworkError):
        with_bot(api, lambda bot: bot.send_message(CHAT, "during"))
    time.sleep(0.6)
    with_bot(api, lambda bot: bot.send_message(CHAT, "after"))
    assert [m["text"] for m in api.sent_messages()] == ["after"]
    assert [c.fault for c in api.calls()][-1] is None and "outage" in [c.fault for c in api.calls()]


def test_an_outage_when_fetched_starts_as_getupdates_hands_out_updates(api: FakeBotAPI) -> None:
    api.outage(0.5, when_fetched=True)
    api.send_text("温州有什么好吃的？")

    async def body(bot: Bot) -> None:
        assert len(await bot.get_updates(timeout=0)) == 1  # this answer goes out; the next request does not
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "answer")

    with_bot(api, body)


class Webhook:
    """A webhook server on 127.0.0.1 that fails its first ``failures`` requests with a 500."""

    def __init__(self, failures: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.failures = failures
        self.received: list[tuple[str, str, dict[str, Any]]] = []  # (path, secret header, update)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.received.append((self.path, self.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), body))
                failed = len(hook.received) <= hook.failures
                self.send_response(500 if failed else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def test_the_webhook_gets_each_update_with_the_secret_and_again_after_a_failure(api: FakeBotAPI) -> None:
    hook = Webhook(failures=1)
    try:
        raw_post(api, "setWebhook", data={"url": "https://bot.example.org/telegram/hook", "secret_token": "s3cret"})
        first = api.send_text("城市书房有多少家")
        time.sleep(0.3)
        assert hook.received == []  # Telegram cannot reach the host yet: the update waits
        api.route_webhook(hook.address)
        api.wait_delivered(first, timeout=5)
        second = api.send_text("藏书多少")
        api.wait_delivered(second, timeout=5)
    finally:
        hook.server.shutdown()
    assert [(path, secret, update["update_id"]) for path, secret, update in hook.received] == [
        ("/telegram/hook", "s3cret", first), ("/telegram/hook", "s3cret", first), ("/telegram/hook", "s3cret", second)]
    assert [d.status for d in api.deliveries(first)] == [500, 200]
    info = raw_post(api, "getWebhookInfo").json()["result"]
    assert info["pending_update_count"] == 0 and "500" in info["last_error_message"]
    with pytest.raises(AssertionError, match="was not delivered"):
        api.wait_delivered(api.send_text("no webhook server any more"), timeout=0.5)


def test_a_lone_surrogate_in_an_update_arrives_escaped(api: FakeBotAPI) -> None:
    api.send_text("城市书房\ud800")
    [update] = raw_post(api, "getUpdates").json()["result"]
    assert update["message"]["text"] == "城市书房\ud800"


def test_stop_wakes_a_waiting_long_poll(api: FakeBotAPI) -> None:
    stopper = threading.Timer(0.3, api.stop)

    async def body(bot: Bot) -> float:
        stopper.start()
        started = time.monotonic()
        try:
            await bot.get_updates(timeout=30)
        except NetworkError:
            pass  # the connection may be closed before the empty answer is read
        return time.monotonic() - started

    assert with_bot(api, body) < 2
    stopper.join()


def test_update_helpers_produce_updates_ptb_understands(api: FakeBotAPI) -> None:
    sent: dict[str, Any] = {}

    async def body(bot: Bot) -> tuple[Update, ...]:
        sent["reply"] = (await bot.send_message(
            CHAT, "选一个", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("A", callback_data="pick:a")]]))).to_dict()
        api.send_text("/ask@wenzhou_qa_bot 瓯江在哪？")
        api.send_text("@wenzhou_qa_bot 你好", chat_type="supergroup", user_id=2002)
        api.send_callback("pick:a")
        api.send_sticker()
        api.send_photo(caption="看图")
        api.send_voice()
        api.send_location()
        api.send_edited_text(2, "/ask 改过的问题")
        api.send_text("回复", reply_to_message=sent["reply"])
        return await bot.get_updates()

    command, mention, callback, sticker, photo, voice, location, edited, reply = with_bot(
        api, body)
    assert command.message.parse_entities(["bot_command"]).popitem()[1] == "/ask@wenzhou_qa_bot"
    assert mention.message.chat.type == "supergroup" and mention.message.chat.title
    assert mention.message.parse_entities(["mention"]).popitem()[1] == "@wenzhou_qa_bot"
    assert callback.callback_query.data == "pick:a"
    assert callback.callback_query.message.text == "选一个"
    assert sticker.message.sticker.emoji and photo.message.caption == "看图"
    assert voice.message.voice.to_dict()["duration"] == 3  # .duration warns in PTB 22
    assert location.message.location.latitude > 27
    assert edited.edited_message.text == "/ask 改过的问题" and edited.edited_message.edit_date
    assert reply.message.reply_to_message.from_user.is_bot

    async def answer(bot: Bot) -> None:
        await bot.answer_callback_query(callback.callback_query.id, text="好")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(callback.callback_query.id)

    with_bot(api, answer)


def test_concurrent_senders_get_unique_per_chat_message_ids(api: FakeBotAPI) -> None:
    def send(i: int) -> int:
        response = client.post(f"{api.base_url}{api.token}/sendMessage",
                               data={"chat_id": str(i % 4 + 1), "text": f"m{i}"})
        return response.json()["result"]["message_id"]

    limits = httpx.Limits(max_connections=16)
    with httpx.Client(limits=limits) as client, ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, range(200)))
    for chat in range(1, 5):
        assert sorted(m["message_id"] for m in api.sent_messages(chat)) == list(range(1, 51))
    assert api.stats()["requests"] == {"sendMessage": 200}


# ---- recording -----------------------------------------------------------------------------


def test_wait_for_times_out_with_the_recorded_methods(api: FakeBotAPI) -> None:
    with_bot(api, lambda bot: bot.get_me())
    with pytest.raises(AssertionError, match=r"sendMessage.*getMe×2"):
        api.wait_for("sendMessage", timeout=0.1)
    api.reset_calls()
    assert api.calls() == [] and api.stats()["requests"] == {"getMe": 2}


# ---- the wiring the real bot uses ----------------------------------------------------------


def test_application_polling_echo_bot(api: FakeBotAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"你说：{update.message.text}", do_quote=True)

    async def main() -> None:
        app: Application = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            api.send_text("雁荡山")
            await asyncio.to_thread(api.wait_for, "sendMessage", timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()

    asyncio.run(main())
    [reply] = api.sent_messages(CHAT)
    assert reply["text"] == "你说：雁荡山"
    assert reply["reply_to_message"]["text"] == "雁荡山"


# ---- the HTML parser on its own ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    assert parse_telegram_html(html.escape(text)) == (text, [])


def test_entity_offsets_are_utf16() -> None:
    text, entities = parse_telegram_html(
        '😀<b>温州</b><pre><code class="language-py">x</code></pre>')
    assert text == "😀温州x" and utf16_len(text) == 5
    assert entities == [{"type": "bold", "offset": 2, "length": 2},
                        {"type": "pre", "language": "py", "offset": 4, "length": 1}]
    with pytest.raises(HTMLParseError, match="Unsupported HTML entity"):
        parse_telegram_html("&nbsp;")
