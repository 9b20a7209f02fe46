from bot.figures import extract_figures, figure_units, may_give


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
    assert may_give("推动6000多低收入农户增收", frozenset({"户"}))  # the unit is the noun after the number
    assert may_give("新增托位1.1万个", frozenset({"个"}))
    assert not may_give("建成城市书房超110家,藏书120多万册", frozenset({"元"}))
