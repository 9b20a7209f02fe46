"""The one decision of the script a Telegram user reads: what they write now, else their last question, else
their Telegram language."""

from __future__ import annotations

import datetime as dtm
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Chat, Message, Update, User

from bot.telegram.base import UserState, script_of, user_script


@pytest.mark.parametrize("text, script", [
    ("溫州的城市書房有多少家", True), ("温州的城市书房有多少家", False), ("你好", None), ("hello 123", None), ("", None),
])
def test_the_script_text_shows(text: str, script: bool | None) -> None:
    assert script_of(text) is script


def update_from(language: str | None) -> Update:
    user = User(5, "用户", False, language_code=language)
    return Update(1, message=Message(1, dtm.datetime.now(dtm.UTC), Chat(5, Chat.PRIVATE), from_user=user, text="x"))


def context_with(last_question: bool | None) -> Any:
    return SimpleNamespace(user_data=UserState(traditional=last_question))


@pytest.mark.parametrize("language, last_question, text, traditional", [
    ("zh-TW", None, "", True), ("zh-hant", None, "", True), ("zh-HK", None, "你好", True),  # the language alone
    ("zh-hans", None, "", False), (None, None, "", False), ("en", None, "", False),
    ("zh-TW", False, "", False), ("zh-hans", True, "你好", True),  # the last question over the language
    ("zh-TW", True, "书房", False), ("zh-hans", False, "書房", True),  # what is written now over both
])
def test_what_is_written_then_the_last_question_then_the_language_decides(
        language: str | None, last_question: bool | None, text: str, traditional: bool) -> None:
    assert user_script(update_from(language), context_with(last_question), text) is traditional
