"""What a person reads first: the quoted sentence, the bold figure, and an honest "not given".

The questions here were written for these tests from the article's text (none is in dev.yaml or heldout.yaml,
the sets the answer models were fitted and checked on).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.answer.choose import choose, not_given_by_definition
from bot.answer.model import FIGURE_FEATURES, SENTENCE_FEATURES, load_answer_model
from bot.answer.not_given import found_and_missing
from bot.answer.reading import read
from bot.chunking import Chunk
from bot.figures import asked_kinds
from bot.search import Hit, QueryAnalysis, SearchResult, asks_only_when


def _bold(answer) -> list[str]:
    return [s.text for s in answer.spans if s.kind == "figure"]


@pytest.mark.parametrize("question, figure", [
    ("城市书房接待的读者有多少人次了", "1400多万人次"),
    ("瑞安给涉农主体减负多少万元", "485万元"),
    ("困难群众的医疗费用能被化解到多少", "5万元以下"),  # the qualifier stays with the number
    ("大病保险报销比例提高到多少了", "80%"),  # the current value of a change
    ("温州已经引进多少个领军型人才创业项目了", "301个"),  # counts 项目: 人才 only says which projects
    ("在24小时城市书房借一本书要多久", "30秒"),  # 24小时 is the question's own figure, not its answer
])
def test_the_asked_figure_is_bold_in_the_quoted_sentence(engine, question: str, figure: str) -> None:
    answer = engine.answer(question)
    assert answer.answered, question
    assert answer.figure == figure and _bold(answer) == [figure], question
    assert figure in answer.lead and answer.reply.startswith(answer.lead)
    data = answer.to_json()
    assert data["figure"] == figure and data["figures"][0] == figure and data["answer"] == answer.lead


def test_asking_what_it_was_before_a_change_bolds_the_earlier_value(engine) -> None:
    assert engine.answer("东岙整治前原来有几家民宿").figure == "16家"
    assert engine.answer("东岙现在有几家民宿").figure == "102家"


def test_a_question_asking_no_figure_gets_no_bold(engine) -> None:
    answer = engine.answer("城市书房由谁来合办")
    assert answer.answered and answer.figure is None and not _bold(answer)
    assert "政府与社会力量合办" in answer.lead
    assert answer.to_json()["figure"] is None


def test_asked_when_a_count_or_an_amount_is_never_bold(engine) -> None:
    # the article gives no date for either: the sentence is quoted, but 3届 and 87个 say no "when"
    for question in ("世界青年科学家峰会是什么时候举办的", "泰顺抽水蓄能项目什么时候获批"):
        answer = engine.answer(question)
        assert answer.answered and answer.figure is None and not _bold(answer), question
        assert answer.to_json()["figure"] is None


@pytest.mark.parametrize("passage, bold", [
    ("1958年第十五届国际动物学大会通过了该案。", "1958年"),  # the year, not the congress's number
    ("第十五届国际动物学大会通过了该案，1958年起施行。", "1958年"),
    ("第十五届国际动物学大会通过了该案。", None),  # nothing says when: no bold, the sentence still quoted
])
def test_asked_only_when_only_a_figure_that_may_say_when_is_bold(passage: str, bold: str | None) -> None:
    question = "该案是在什么时候通过的"
    query = QueryAnalysis(question, ["该案", "通过"], {}, asks_amount=True, asked_kinds=asked_kinds(question),
                          asks_when=True, weights={"该案": 1.0, "通过": 1.0})
    hit = Hit(Chunk("c1", "s1", "命名规则", "", passage), 1.0, 0.5, 0.5)
    choice = choose(read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit])), load_answer_model(),
                    decide_given=False)
    assert choice.sentence is not None and choice.given
    assert (choice.figure.text if choice.figure else None) == bold
    assert bold is None or bold in choice.sentence.quoted


@pytest.mark.parametrize("question, amount", [
    ("城市书房有多大", True), ("借一本书要多久", True), ("平原很少会超过多高的海拔", True),
    ("温州有很多高校吗", False), ("众多大型企业落户了哪些县", False), ("许多长期项目是谁投资的", False),
    ("借书几秒钟搞定", True), ("这种书有几种颜色", True),  # 几 and any unit asks an amount
    ("达曼的卫星城有哪几座", False), ("列车被配属予哪几个铁道", False),  # 哪几 asks which ones
])
def test_what_asks_an_amount(engine, question: str, amount: bool) -> None:
    assert engine.state.searcher.analyse(question).asks_amount is amount


@pytest.mark.parametrize("question, only_when", [
    ("泰顺抽水蓄能项目什么时候获批", True),  # 项目 is counted by the editors, but not asked here
    ("峰会哪一年举办", True),
    ("汕头在民国几年时被日军攻陷", True),  # 民国几年 asks a year, not an amount of years
    ("大病保险报销比例什么时候提高的", False),  # asks a share too
    ("书房什么时候建成，有多少家", False),  # and an amount
    ("书房有多少家", False),
])
def test_a_question_asking_only_when_is_told_apart(question: str, only_when: bool) -> None:
    assert asks_only_when(question) is only_when


def test_an_amount_of_another_kind_is_not_given_and_nothing_is_bold(engine) -> None:
    answer = engine.answer("城市书房建设一共花了多少钱")  # the passages count libraries and books, not money
    assert not answer.answered and answer.reason == "no_figure"
    assert answer.figure is None and not _bold(answer) and not answer.figures
    assert "讲到了城市书房" in answer.reply and "但没有给出一共花了多少钱" in answer.reply
    assert "【样本八" in answer.reply  # then the closest passage, under its heading


def test_a_share_asked_by_name_where_the_passage_gives_only_money_is_not_given(engine) -> None:
    answer = engine.answer("瑞安金融专员发的贷款利率是多少")  # 样本二 gives amounts of money and people, no rate
    assert not answer.answered and answer.reason == "no_figure" and not _bold(answer)
    assert "利率" in answer.reply


def test_a_word_that_only_says_whose_does_not_decide_the_asked_kind(engine) -> None:
    answer = engine.answer("温州城乡居民的收入倍差缩小到多少")  # a 倍差 (a bare ratio), not an income in 元
    assert answer.answered and answer.figure == "1.94"


def test_what_is_missing_is_named_in_the_question_s_words() -> None:
    query = QueryAnalysis("城市书房一次能借几本书", ["城市书房", "一次", "能借", "本书"], {}, subject=("城市书房",))
    assert found_and_missing(query, "市民凭借阅卡即可进入城市书房，30秒完成自助借书。") == ("城市书房", "一次能借几本书")
    query = QueryAnalysis("苍南金融专员发了多少贷款", ["苍南", "金融专员", "发", "贷款"], {}, subject=("苍南", "金融专员"))
    topic, missing = found_and_missing(query, "瑞安市下派300名金融专员,已发放专项贷款超30亿元。")
    assert topic == "金融专员、贷款"
    assert missing == "苍南金融专员发了多少贷款"  # the missing subject is named


def _figure_features(question: str, words: list[str], passage: str) -> dict[str, dict[str, float]]:
    """The figure features the answer step computes for ``passage`` shown alone to ``question``."""
    query = QueryAnalysis(question, words, {}, asks_amount=True, asked_kinds=asked_kinds(question),
                          weights={w: 1.0 for w in words})
    hit = Hit(Chunk("c1", "s1", "题目", "", passage), 1.0, 0.5, 0.5)
    reading = read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))
    x = reading.figure_x(np.zeros(len(reading.sentences)))
    return {f.text: dict(zip(FIGURE_FEATURES, map(float, row))) for (_, f), row in zip(reading.figures, x)}


def test_the_figure_standing_where_the_question_words_stand_around_its_question_word_fits_best() -> None:
    features = _figure_features("真纳于何年加入全印穆斯林联盟", ["真纳", "加入", "全印", "穆斯林", "联盟"],
                                "真纳生于1876年，在英国攻读法律，1913年加入全印穆斯林联盟。")
    assert features["1913年"]["right_context"] > features["1876年"]["right_context"]
    assert features["1913年"]["proximity"] > features["1876年"]["proximity"]


def test_a_year_is_told_from_a_month_when_the_question_asks_which_year() -> None:
    features = _figure_features("柏林影展在哪一年改为2月举行", ["柏林", "影展", "改为", "举行"],
                                "柏林影展1978年开始改为在每年的2月举行。")
    assert features["1978年"]["date_part"] == 1.0 and features["2月"]["date_part"] == 0.0


def test_the_one_figure_of_the_asked_kind_among_others_stands_out() -> None:
    features = _figure_features("卢安达2011年的贫困率为百分之多少", ["卢安达", "贫困率"],
                                "贫困率从2006年的57%下降到2011年的45%，人口达1200万人。")
    assert features["45%"]["kind_rarity"] > 0 and features["2006年"]["kind_rarity"] == 0
    assert features["57%"]["kind_first"] == 1.0 and features["45%"]["kind_first"] == 0.0
    assert features["1200万人"]["kind_alone"] == 0.0


def test_asked_now_the_current_value_of_a_change_of_the_asked_kind_is_bold() -> None:
    query = QueryAnalysis("现在户均年收入有多少", ["户均", "年收入"], {}, asks_amount=True, asks_current=True,
                          asked_kinds=asked_kinds("现在户均年收入有多少元"), weights={"户均": 1.0, "年收入": 1.0})
    hit = Hit(Chunk("c1", "s1", "题目", "", "民宿从16家猛增至102家，户均年收入达20万元。"), 1.0, 0.5, 0.5)
    choice = choose(read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit])), load_answer_model(),
                    decide_given=False)
    assert choice.figure is not None and choice.figure.text == "20万元"  # not 102家, the guesthouses it grew to


def test_a_count_right_before_the_one_character_noun_asked_counts_it() -> None:
    query = QueryAnalysis("卢安达被分为几个省", ["卢安达", "分为"], {}, asks_amount=True, counted="省",
                          named_units=frozenset({"省"}), asked_kinds=frozenset({"count"}),
                          weights={"卢安达": 1.0, "分为": 1.0})
    for passage, given in (("卢安达按2006年划定的边界被分为五个省。", True), ("卢安达在2006年划定了边界。", False)):
        hit = Hit(Chunk("c1", "s1", "卢安达", "", passage), 1.0, 0.5, 0.5)
        reading = read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))
        assert not_given_by_definition(reading) is not given


def test_asked_which_year_where_no_figure_may_be_a_year_it_is_not_given() -> None:
    query = QueryAnalysis("徐世昌在哪一年被选举为大总统", ["徐世昌", "选举", "大总统"], {}, asks_amount=True,
                          asked_kinds=frozenset({"date"}), weights={"徐世昌": 1.0, "选举": 1.0, "大总统": 1.0})
    for passage, given in (("同年10月10日，安福国会选举徐世昌为大总统。", False),
                           ("1918年10月10日，安福国会选举徐世昌为大总统。", True),
                           ("民国七年，安福国会选举徐世昌为大总统。", True)):  # an era's year counts as one
        hit = Hit(Chunk("c1", "s1", "徐世昌", "", passage), 1.0, 0.5, 0.5)
        reading = read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))
        assert not_given_by_definition(reading) is not given, passage


def test_a_sentence_that_only_restates_the_question_is_told_apart_from_one_that_answers_it() -> None:
    words = ["创立", "全印", "穆斯林", "联盟"]
    query = QueryAnalysis("谁创立了全印穆斯林联盟", words, {}, weights={w: 1.0 for w in words})
    hit = Hit(Chunk("c1", "s1", "题目", "", "谁创立了全印穆斯林联盟？阿迦汗在达卡创立了全印穆斯林联盟。"), 1.0, 0.5, 0.5)
    reading = read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))
    restating, answering = (dict(zip(SENTENCE_FEATURES, map(float, row))) for row in reading.sentence_x)
    assert restating["restates"] > answering["restates"]
    assert answering["new_characters"] > restating["new_characters"]


def test_the_question_s_own_numbers_count_whole_not_digit_by_digit() -> None:
    words = ["担任", "职务"]
    question = "1984年6月至1985年1月，他担任什么职务"
    query = QueryAnalysis(question, words, {}, weights={w: 1.0 for w in words})
    passage = "1998年6月至2000年4月任市委书记。1984年6月至1985年1月任县委宣传部副部长。"
    hit = Hit(Chunk("c1", "s1", "生平", "", passage), 1.0, 0.5, 0.5)
    reading = read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))
    other, asked = (dict(zip(SENTENCE_FEATURES, map(float, row))) for row in reading.sentence_x)
    assert asked["numbers"] == 1.0 and other["numbers"] == 0.25  # of 1984, 6, 1985 and 1 only the month 6


def test_staff_asked_where_the_article_counts_rooms_and_visits_is_not_given(engine) -> None:
    """工作人员 is not in units.yaml: read by its last character (员, as 党员 and 专员) it asks a number of people,
    and the 城市书房 passage gives rooms (超110家), books and visits (1400多万人次, a group of its own), not staff."""
    answer = engine.answer("城市书房有多少工作人员")
    assert not answer.answered and answer.reason == "no_figure"
    assert answer.figure is None and not _bold(answer)  # not 超110家
    assert "讲到了城市书房，但没有给出" in answer.reply and "工作人员" in answer.reply
    assert "【样本八" in answer.reply  # then the closest passage


def test_staff_asked_of_the_second_article_is_not_given_either(engine) -> None:
    answer = engine.answer("城南再生水厂有几个技术员")  # tons and cubic metres of water, no staff
    assert not answer.answered and answer.reason == "no_figure" and answer.figure is None
    assert "技术员" in answer.reply


def test_people_asked_are_answered_by_a_share_of_residents_not_by_visits(engine) -> None:
    """人次 counts visits (its own group in units.yaml): asked 多少人, 1400多万人次 is no number of people, but
    3/4的温州市民 is (a question counting by the unit 人 counts whatever its group's nouns name)."""
    for question in ("多少人来过城市书房", "温州有多少市民去过城市书房"):
        answer = engine.answer(question)
        assert answer.answered and answer.figure == "3/4" and _bold(answer) == ["3/4"], question


def test_a_household_count_is_answered_by_a_share_of_families_on_the_second_article(engine) -> None:
    answer = engine.answer("有多少户家庭的年用水量在第一阶梯以内")  # 九成以上家庭: 家庭 is listed under 户
    assert answer.answered and answer.figure == "九成以上"


def _reading(query: QueryAnalysis, passage: str):
    hit = Hit(Chunk("c1", "s1", "城市书房", "", passage), 1.0, 0.5, 0.5)
    return read(SearchResult(query, [hit], True, 1.0, 1.0, shown=[hit]))


def test_a_figure_in_another_editors_group_is_not_of_the_asked_kind() -> None:
    """Asked 多少员工 (people: 人 名 位), a figure in 人次 is of the reader's kind "people" but of another
    editors' group: it does not count, so nothing there is the asked amount; without the groups it would."""
    people = frozenset({"人", "名", "位"})
    query = QueryAnalysis("城市书房有多少员工", ["城市书房"], {}, asked_units=people,
                          other_units=frozenset({"人次", "元", "册"}), counted="员工", counted_nouns=("员工",),
                          asks_amount=True, named_units=people, asked_kinds=frozenset({"people"}),
                          weights={"城市书房": 1.0})
    passage = "城市书房超110家,累计接待读者1400多万人次。"
    assert not_given_by_definition(_reading(query, passage))
    assert not not_given_by_definition(_reading(replace(query, other_units=frozenset()), passage))
    assert not not_given_by_definition(_reading(query, "城市书房共有员工300名。"))
