"""Chinese punctuation: where sentences and clauses end, and how a text is cut short."""

from bot.chunking import split_sentences
from bot.text import AFTER_CLAUSE_END, FULL_STOP, SENTENCE_END, shortened


def test_a_sentence_ends_with_its_closing_quote_and_a_semicolon_ends_one_too():
    text = "他说：“建成城市书房110家。”全市共有书房；总藏书120多万册！还有吗?"
    assert [m.group() for m in SENTENCE_END.finditer(text)] == ["。”", "；", "！", "?"]
    assert split_sentences(text)[0] == "他说：“建成城市书房110家。”"


def test_on_screen_a_semicolon_does_not_break_the_line_but_a_full_stop_does():
    assert not FULL_STOP.search("总藏书120多万册；")
    assert FULL_STOP.search("总藏书120多万册。」").group() == "。」"


def test_clauses_end_at_commas_and_sentence_ends_but_not_at_enumeration_commas():
    assert AFTER_CLAUSE_END.split("稳定就业、减负减支，救助保障。下一步") == ["稳定就业、减负减支，", "救助保障。", "下一步"]


def test_shortened_is_one_line_within_the_limit():
    assert shortened("城市\n书房  有多少", 20) == "城市 书房 有多少"
    cut = shortened("温州聚焦先行示范十大实践样本出炉", 8)
    assert cut == "温州聚焦先行示…" and len(cut) == 8
