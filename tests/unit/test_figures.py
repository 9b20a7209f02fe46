import pytest

from bot.figures import (
    ASKS_EARLIER,
    asked_date_part,
    asked_kinds,
    extract_figures,
    figure_units,
    read_figures,
    writes_date_part,
)


def test_article_figures_verbatim():
    text = ("去年,平阳、永嘉、苍南地区生产总值分别居全省山区26县第1、第3和第5位。收入倍差缩小为1.94,"
            "人均可支配收入14645元,同比增长15.2%。创新“1+1+1”帮扶政策。吸引了相当于3/4的温州市民。"
            "总藏书120多万册,居民480余万人,总投资9亿多元,化解至5万元以下,占比已达80%以上,已发放专项贷款超30亿元。")
    figures = extract_figures(text)
    for expected in ["26县", "第1、第3和第5位", "1.94", "14645元", "15.2%", "1+1+1", "3/4", "120多万册",
                     "480余万人", "9亿多元", "5万元以下", "80%以上", "超30亿元"]:
        assert expected in figures, expected
    assert all(f in text for f in figures)


def test_no_figures_in_plain_text_and_no_repeats():
    assert extract_figures("城市书房是政府与社会力量合办的") == []
    assert extract_figures("30秒即可,30秒而已") == ["30秒"]


def test_units_say_what_an_amount_counts():
    assert figure_units("投入资金1.3亿元,年均收益600多万元,带动3000多户") == {"元", "户"}
    assert figure_units("接待读者1400多万人次,占比已达80%以上") == {"人次", "%"}
    assert figure_units("分别居第1、第3和第5位,创新“1+1+1”政策") == set()  # rankings and formulas are not amounts
    assert figure_units("占全市常住人口近1/2") == {"%"}  # a fraction is a share


def test_a_bare_number_may_be_any_amount():
    [bare] = read_figures("推动6000多低收入农户增收")  # the unit is the noun after the number
    assert (bare.text, bare.kind, bare.unit) == ("6000多", "number", "")
    assert [(f.kind, f.unit) for f in read_figures("新增托位1.1万个")] == [("count", "个")]
    assert {f.kind for f in read_figures("建成城市书房超110家,藏书120多万册")} == {"count"}  # no money here


def _read(text):
    return {f.text: f for f in read_figures(text)}


def test_a_qualifier_stays_with_its_number():
    figures = _read("养老机构床位费每月不超过1500元,补贴不到300元,近1/2的居民,约200万人,超110家,80%以上,9亿多元,480余万人")
    assert set(figures) == {"不超过1500元", "不到300元", "近1/2", "约200万人", "超110家", "80%以上", "9亿多元", "480余万人"}
    assert figures["不超过1500元"].qualifier == "不超过" and figures["不超过1500元"].value == 1500
    assert figures["480余万人"].value == 4_800_000 and figures["480余万人"].kind == "people"


def test_units_of_volume_weight_area_length_money_and_time_are_known():
    kinds = {f.text: f.kind for f in read_figures(
        "年供水5000立方米,回收12吨,节水300升,改造2.5万平方米,湿地30公顷,农田800亩,管网120公里,投资1.2亿元,工期18个月,"
        "每天运行24小时,水温18摄氏度")}
    assert kinds == {"5000立方米": "volume", "12吨": "weight", "300升": "volume", "2.5万平方米": "area",
                     "30公顷": "area", "800亩": "area", "120公里": "length", "1.2亿元": "money",
                     "18个月": "duration", "24小时": "duration", "18摄氏度": "temperature"}


def test_chinese_numerals_dates_and_ranks_are_figures_but_words_are_not():
    figures = _read("漫画连载了三十三话,两千多名学生报名,2021年5月1日开馆,民国37年迁址,排名第3位,二〇二一年竣工,"
                    "一名干部结对,十分重要,三分之一的村")
    assert figures["三十三话"].value == 33 and figures["两千多名"].qualifier == "多"
    assert figures["2021年5月1日"].kind == "date" and figures["民国37年"].kind == "date"
    assert figures["第3位"].kind == "rank" and figures["二〇二一年"].kind == "date"
    assert figures["三分之一"].kind == "share"
    assert "一名" not in figures and "十分" not in figures  # an article and an adverb, not amounts


def test_a_magnitude_alone_counts_money_but_not_people_nor_words():
    figures = _read("招引落地超百亿元投资项目,安排千万元资金,千人托位数提高到2.7个,惠及千家万户,数百万元,几百万元,上亿元")
    assert set(figures) == {"超百亿元", "千万元", "2.7个"}
    assert figures["超百亿元"].value == 1e10 and figures["超百亿元"].qualifier == "超"
    assert figures["超百亿元"].kind == "money" and figures["千万元"].value == 1e7
    assert [f.text for f in read_figures("百亿元项目落地")] == ["百亿元"]  # also where the text begins


def test_a_change_has_an_earlier_and_a_current_value_but_a_span_of_years_has_neither():
    roles = {f.text: f.role for f in read_figures("报销比例由65%提高至80%,民宿从整治前的16家猛增至102家,1949年至1952年间")}
    assert roles == {"65%": "earlier", "80%": "current", "16家": "earlier", "102家": "current",
                     "1949年": "", "1952年": ""}


def test_a_year_in_an_era_s_count_is_the_year_asked():
    assert asked_date_part("汕头在民国几年时被日军攻陷") == "年" and asked_date_part("他工作了几年") == ""


def test_the_kind_a_question_asks_for():
    assert asked_kinds("珠穆朗玛峰有多高") == {"length"} and asked_kinds("他哪一年出生") == {"date"}
    assert asked_kinds("排名第几") == {"rank"} and asked_kinds("占比多少", frozenset({"%"})) == {"share"}
    assert asked_kinds("城市书房在哪里") == frozenset()


@pytest.mark.parametrize("question, kinds", [
    ("城乡收入倍差是多少", set()),  # 收入 only says whose 倍差
    ("东岙村民户均年收入达到多少", {"money"}),  # filler words between: 收入 is what is asked
    ("这个街道的人口密度是多少", set()),  # a density, not a number of people
    ("这个县有多少人口", {"people"}),  # the asked word after the question word
    ("他哪一年出生", {"date"}),  # a word holding its own question word asks whatever follows it
    ("贷款利率大概是多少", {"share"}),
    ("温州有很多高校吗", set()),  # 很多 is a word of its own: no 多高, no height asked
    ("多久？", {"duration"}),  # 多 opening the question asks
    ("众多大型企业落户了哪些县", set()),
    ("平原很少会超过多高的海拔", {"length"}),
    ("慈禧太后出生于西元几年", {"date"}),  # a year in an era's count, not how many years
    ("他在那里工作了几年", {"duration"}),
])
def test_the_asked_kind_comes_from_the_word_that_is_asked(question: str, kinds: set[str]) -> None:
    assert asked_kinds(question) == kinds


def test_a_day_or_month_no_calendar_has_is_a_number_not_a_date():
    kinds = {f.text: f.kind for f in read_figures("1979年10月6日，住在201號樓，5月3号开会，共13月")}
    assert kinds == {"1979年10月6日": "date", "201號": "number", "5月3号": "date", "13月": "number"}


def test_the_part_of_a_date_a_question_asks_for():
    assert asked_date_part("柏林影展在哪一年改期") == "年" and asked_date_part("哪一天开幕") == "日"
    assert asked_date_part("什么时候开幕") == ""  # any part answers it
    written = {f.text: writes_date_part(f, "年") for f in read_figures("1978年开始改为在每年的2月举行")}
    assert written == {"1978年": True, "2月": False}
    assert [writes_date_part(f, "日") for f in read_figures("5月3号开幕")] == [True]


@pytest.mark.parametrize("question, earlier", [
    ("以前是多少", True), ("整治前有几家", True), ("报销比例从多少提高到80%", True), ("过去是多少", True),
    ("多久以前就有人住在这里", False),  # how long ago: a time, not an earlier value
    ("过去一年签约了多少个项目", False),  # the past year
    ("众议院由几名成员组成", False),  # what it is made of: no change
])
def test_a_question_asks_the_value_before_a_change_only_where_it_speaks_of_one(question: str, earlier: bool):
    assert bool(ASKS_EARLIER.search(question)) is earlier
