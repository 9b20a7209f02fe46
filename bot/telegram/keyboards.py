"""The keyboards under the bot's messages that do not depend on the content: votes, reasons, examples, and
the one button under a decline. (The /topics keyboard lists the content: ``bot.telegram.cards``.)"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..store import DOWN_REASONS
from .base import in_script
from .buttons import MENU_DATA, example_data, reason_data, vote_data

START_EXAMPLES = 4  # example questions offered under /start


def feedback_keyboard(question_id: int, tag: str, chosen: int = 0, traditional: bool = False) -> InlineKeyboardMarkup:
    """👍/👎 under an answer; the chosen one is marked (pressing the other one changes the vote)."""
    up = in_script(("✅ " if chosen == 1 else "") + "👍 有用", traditional)
    down = in_script(("✅ " if chosen == -1 else "") + "👎 没用", traditional)
    return InlineKeyboardMarkup([[InlineKeyboardButton(up, callback_data=vote_data(1, question_id, tag)),
                                  InlineKeyboardButton(down, callback_data=vote_data(-1, question_id, tag))]])


def reason_keyboard(question_id: int, chosen: str = "", traditional: bool = False) -> InlineKeyboardMarkup:
    """What was wrong with a 👎 answer, one tap each; the chosen one marked."""
    buttons = [InlineKeyboardButton(("✅ " if code == chosen else "") + in_script(label, traditional),
                                    callback_data=reason_data(code, question_id))
               for code, label in DOWN_REASONS.items()]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


def examples_keyboard(examples: Sequence[str]) -> InlineKeyboardMarkup:
    """The first example questions under /start, one a row; a tap asks it."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(q, callback_data=example_data(i))]
                                 for i, q in enumerate(examples[:START_EXAMPLES])])



def decline_keyboard(traditional: bool = False) -> InlineKeyboardMarkup:
    """Under a decline: one button that brings the /topics list (the whole list would bury the reply)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(in_script("📚 看看我能回答哪些方面", traditional),
                                                       callback_data=MENU_DATA)]])
