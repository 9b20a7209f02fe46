"""Retrieval behaviour users rely on, with the real bundled model over the real content.

The questions here are written for these tests (not taken from the dev set), one per behaviour.
"""

import pytest
import yaml

from bot.knowledge import load_knowledge
from bot.search import asked_endings, homophone_table, pinyin_key
from tests.helpers import KNOWLEDGE


def test_factual_question_gets_the_passage_and_its_figure_first(engine):
    answer = engine.answer("温州一共建成了多少家城市书房？")
    assert answer.answered
    assert answer.passages[0].section == "s8" and "超110家" in answer.passages[0].text
    assert answer.figures[0] == "超110家"
    assert answer.lead.startswith("目前,温州市已建成城市书房超110家") and answer.reply.startswith(answer.lead)
    assert "样本八" in answer.reply and "出处：《温州聚焦先行示范 十大实践样本出炉》" in answer.reply


def test_traditional_question_finds_the_same_passage_and_is_answered_in_traditional(engine):
    simplified = engine.answer("温州一共建成了多少家城市书房？")
    traditional = engine.answer("溫州一共建成了多少家城市書房？")
    assert traditional.passages[0].id == simplified.passages[0].id
    assert traditional.traditional and "城市書房" in traditional.reply and "城市书房" not in traditional.reply
    assert traditional.passages[0].text == simplified.passages[0].text  # passages are shown as written


def test_english_word_and_full_width_characters(engine):
    answer = engine.answer("平阳的ＧＤＰ在山区县排第几？")
    assert answer.answered and answer.passages[0].section == "intro"
    assert "第1、第3和第5位" in answer.figures


def test_input_method_typo_is_repaired_by_sound(engine):
    answer = engine.answer("侨家乐接待过夜有客多少人次")  # 有客 typed for 游客 (same pinyin)
    assert "游客" in engine.state.searcher.analyse("侨家乐接待过夜有客多少人次").expansions
    assert answer.answered and "15.3万人次" in answer.passages[0].text


def test_off_topic_questions_are_declined_naming_the_content_and_where_to_look(engine):
    for question in ["明天温州天气怎么样", "推荐一家好吃的火锅店", "帮我翻译一句英文"]:
        answer = engine.answer(question)
        assert not answer.answered and answer.reason == "off_topic", question
        assert answer.reply.startswith(f"抱歉，{engine.state.source}没有讲到这个问题。") and "/topics" in answer.reply
        assert not answer.figures and not answer.lead and not answer.sources


def test_a_measure_word_is_not_what_a_question_is_about(engine):
    answer = engine.answer("温州有多少所医院")  # 所 and 温州 are all over the article, hospitals nowhere
    assert not answer.answered and answer.reply.startswith("抱歉，")


def test_a_common_word_is_meant_not_mistyped(engine):
    analysis = engine.state.searcher.analyse("温州有什么好吃的")  # 好吃 sounds like the article's 皓齿
    assert "皓齿" not in analysis.expansions and not engine.answer("温州有什么好吃的").answered


def test_amounts_are_not_typo_candidates():
    table = homophone_table(["亿元", "余万", "万人次", "游客", "托位"])
    assert pinyin_key("医院") not in table and pinyin_key("鱼丸") not in table  # 亿元, 余万: amounts, no one's typo
    assert table[pinyin_key("有客")] == ["游客"] and table[pinyin_key("脱位")] == ["托位"]


def test_what_a_question_counts_is_not_a_topic_word_to_find(engine):
    for question in ["世界青年科学家峰会办过几届啦", "城市书房建了多少家啦"]:  # 几届, 家, 啦, 办过 → 办
        assert engine.answer(question).answered, question
    answer = engine.answer("住宅小区居民占常住人口多少%")
    assert answer.answered and answer.figures[0] == "近1/2"  # a fraction answers a share


def test_an_amount_of_another_kind_is_not_the_answer(engine):
    answer = engine.answer("温州城市书房一共花了多少钱")  # the passages count libraries and books, not money
    assert not answer.answered and answer.reason == "no_figure"


def test_asked_number_missing_from_the_article_is_said_honestly(engine):
    answer = engine.answer("乐清社会大救助一共帮助了多少人")
    assert not answer.answered and answer.reason == "no_figure"
    assert "讲到了乐清社会大救助，但没有给出一共帮助了多少人" in answer.reply  # what it found, what is missing


def test_the_amount_asked_for_is_read_from_the_question(engine):
    searcher = engine.state.searcher
    asked = {question: set(searcher.analyse(question).asked_units) for question in [
        "苍南一共投了多少钱", "书房里有多少本书", "几个人报了名", "有多少万人次来过", "建了多少家",
        "东岙村民的户均年收入是多少", "托位占比达到了多少", "城市书房人气咋样", "几乎所有人都能进吗"]}
    assert asked == {
        "苍南一共投了多少钱": {"元"}, "书房里有多少本书": {"册"}, "几个人报了名": {"人", "名", "位"},
        "有多少万人次来过": {"人次"}, "建了多少家": {"家"},
        "东岙村民的户均年收入是多少": {"元"},  # the counted thing stands last: 收入, not 村民
        "托位占比达到了多少": {"%"}, "城市书房人气咋样": set(), "几乎所有人都能进吗": set()}


def test_a_question_asking_for_money_leads_with_the_passage_and_figure_giving_it(engine):
    answer = engine.answer("苍南折股量化一共花了多少钱")  # the passage naming 折股量化 most has no amount
    assert "1.3亿元" in answer.passages[0].text
    assert answer.figures[:2] == ["1.3亿元", "600多万元"]  # amounts in 元 before the 60个 beside them


def test_a_count_is_answered_by_the_amount_of_what_is_counted(engine):
    """个 counts anything: people (48人), the thing named after it (514个村社), or a share of them (3/4的市民)."""
    for question, figure in [("创业园引进了几个省级以上人才", "48人"), ("金融专员覆盖了瑞安多少个村社", "514个村社"),
                             ("溫州有多少市民去過城市書房", "3/4")]:
        answer = engine.answer(question)
        assert answer.answered, question
        assert figure in answer.shown[0].text, question


def test_a_question_in_the_topic_without_a_question_word_of_a_figure_is_answered(engine):
    answer = engine.answer("城市书房采取何种建设运营模式")
    assert answer.answered and answer.shown[0].section == "s8"


def test_questions_about_people_and_things_elsewhere_are_declined(engine):
    for question in ["张世昌的职业是什么", "霍布斯在1647年的时候发生了什么事?", "金帐汗国的建立者是谁?"]:
        assert engine.answer(question).reason == "off_topic", question


def test_question_about_two_samples_reaches_both(engine):
    answer = engine.answer("瑞安金融专员和洞头蓝湾整治分别有什么成效")
    assert {"s2", "s9"} <= {p.section for p in answer.passages[:5]}


def test_passages_are_verbatim_short_and_ranked(engine):
    paragraphs = [p for s in load_knowledge(KNOWLEDGE).sections for p in s.paragraphs]
    for question in ["托育补贴", "苍南 折股量化 收益怎么分", "共享社幸福里有多少党员参与"]:
        answer = engine.answer(question)
        assert all(len(p.text) <= 300 for p in answer.passages)
        assert all(any(p.text in para for para in paragraphs) for p in answer.passages)
        scores = [p.score for p in answer.passages]
        assert scores == sorted(scores, reverse=True)


def test_long_and_strange_input_is_answered_without_error(engine):
    answer = engine.answer("城市书房" + "啊" * 5000 + "\u200b\x00<b>&")
    assert answer.truncated and answer.reply.startswith("（你的问题太长")
    for question in ["", "   ", "？？？", "😀😀", "<script>alert(1)</script>"]:
        assert not engine.answer(question).answered


def test_the_answer_opens_with_the_sentence_giving_the_current_figure(engine):
    for question, figure in [("大病保险报销比例现在多少", "80%"), ("东岙村民宿现在有几家", "102家"),
                             ("千人托位数是多少", "2.7个")]:
        answer = engine.answer(question)
        assert answer.answered and figure in answer.lead and answer.figures[0] == figure, question
        assert answer.reply.startswith(answer.lead)
        assert [s for s in answer.spans if s.kind == "figure"][0].text == figure  # the asked figure in bold


def test_the_reply_quotes_one_supporting_passage_and_names_only_its_articles(engine):
    answer = engine.answer("城市书房有多少家")
    assert len(answer.shown) <= 2 and sum(s.kind == "heading" for s in answer.spans) == 1
    assert [s.article for s in answer.sources] == [answer.shown[0].article]
    data = answer.to_json()
    assert data["answer"] == answer.lead and data["sources"][0]["article"] == answer.shown[0].article
    assert all(p["article"] for p in data["passages"]) and "reason" not in data


def test_a_question_about_two_things_shows_a_passage_for_each(engine):
    answer = engine.answer("瑞安金融专员放的专项贷款和文成侨家乐的综合收入分别是多少")
    assert {p.section for p in answer.shown} == {"s2", "s3"}
    assert "30亿元" in answer.reply and "1.2亿元" in answer.reply


def test_a_homophone_typo_in_the_subject_still_finds_its_passage(engine):
    answer = engine.answer("城市书防有几家")  # 书防 typed for 书房
    assert answer.answered and answer.shown[0].section == "s8" and answer.figure == "超110家"


def test_an_abbreviation_is_read_from_the_content(tmp_path):
    """长护险 is nowhere in the content: its words are (长期护理保险), and no list says so."""
    from bot import embedding
    from bot.engine import Engine
    from bot.index import build_index
    from tests.helpers import FAKE_MODEL, FIXTURES, make_settings

    settings = make_settings(tmp_path, knowledge=FIXTURES / "care-insurance", embedding_model=FAKE_MODEL)
    build_index(settings, embedding.load_embedder)
    engine = Engine(settings)
    assert engine.state.searcher.analyse("长护险每月能报销多少").repairs["长护险"] == ["长期护理保险"]
    answer = engine.answer("长护险每月能报销多少")
    assert answer.answered and answer.shown[0].section == "care-1"


def test_the_lexical_pass_beside_the_encoder_changes_no_answer(engine, real_settings):
    """BM25 runs on a thread of its own while the question is encoded (the default): the candidates, their
    features and the reply are exactly those of running the two one after the other."""
    from bot.search import Searcher

    state = engine.state
    serial = Searcher(state.index, engine.embedder, real_settings.replace(lexical_beside_encoder=False))
    assert real_settings.lexical_beside_encoder
    for question in ("温州一共建成了多少家城市书房？", "瑞安金融专员发放了多少贷款", "溫州的GDP是多少", "今天天气怎么样"):
        beside, after = state.searcher.candidates(question), serial.candidates(question)
        assert beside.ids.tolist() == after.ids.tolist()
        assert (beside.features == after.features).all()
        assert beside.timings.keys() == after.timings.keys() and beside.timings["lexical"] > 0


def test_a_failing_lexical_pass_fails_the_question_not_the_thread(engine, monkeypatch):
    """An error in the pass on the second thread reaches the asking thread, which reports it as before."""
    searcher = engine.state.searcher

    def broken(tokens):
        raise MemoryError("no room for the scores")

    monkeypatch.setattr(searcher.index.lexical, "scores_and_coverage", broken)
    with pytest.raises(MemoryError, match="no room"):
        searcher.candidates("城市书房有多少家")


def test_a_noun_units_yaml_does_not_list_is_read_by_its_last_character(engine):
    """Right after 多少 / 几, a noun knowledge/units.yaml does not list counts what the listed words ending in its
    last character count (员: 党员, 专员 → people; 户: 农户, 住户 → 户); the last of the nouns in a row is the one
    counted (家政人员: 人员). No reading where the listed words disagree or are too few, or it is no noun."""
    searcher = engine.state.searcher
    people = {"人", "名", "位"}
    read = {question: (set(analysis.asked_units), analysis.counted)
            for question in ["城市书房有多少工作人员", "城南再生水厂有几个技术员", "苍南有多少贫困户", "有多少家政人员",
                             "城市书房有多少员工", "有多少青年来过", "有多少企业入驻"]
            for analysis in [searcher.analyse(question)]}
    assert read == {
        "城市书房有多少工作人员": (people, "工作人员"), "城南再生水厂有几个技术员": (people, "技术员"),
        "苍南有多少贫困户": ({"户"}, "贫困户"), "有多少家政人员": (people, "人员"),
        "城市书房有多少员工": (people, "员工"),  # listed: as before
        "有多少青年来过": (set(), ""),  # 青年 is tagged a time word, and 年 ends only ways of asking (哪一年)
        "有多少企业入驻": (set(), ""),  # 业: only 就业 ends in it, fewer than asked_ending_min_words
    }


def _units(knowledge) -> list:
    from bot.knowledge import parse_units

    groups, problems = parse_units(yaml.safe_load((knowledge / "units.yaml").read_text(encoding="utf-8")), "units.yaml")
    assert not problems
    return groups


def test_the_last_character_reading_is_derived_from_units_yaml(knowledge_copy):
    endings = asked_endings(_units(knowledge_copy), 2)
    people = {"人", "名", "位"}
    assert endings["员"] == endings["民"] == endings["工"] == endings["生"] == people
    assert endings["户"] == {"户"} and endings["书"] == {"册"}
    assert endings["率"] == endings["比"] == endings["例"] == endings["幅"] == {"%"}
    assert "本" not in endings  # 成本 is money, 本 counts books: two groups
    assert "年" not in endings and "间" not in endings  # 哪一年, 多长时间 ask; 时间 alone is one word
    assert "业" not in endings and asked_endings(_units(knowledge_copy), 1)["业"] == people  # 就业: one word


def test_the_last_character_reading_follows_an_edit_of_units_yaml(knowledge_copy, tmp_path):
    """An editor lists 管理员 under 人次: 员 then ends words of two groups and reads nothing; moving 党员 and 专员
    to a group of their own makes 员 read as that group."""
    from bot import embedding
    from bot.engine import Engine
    from bot.index import build_index
    from tests.helpers import FAKE_MODEL, make_settings

    def asked(tag: str) -> frozenset[str]:
        settings = make_settings(tmp_path / tag, knowledge=knowledge_copy, embedding_model=FAKE_MODEL)
        build_index(settings, embedding.load_embedder)
        return Engine(settings).state.searcher.analyse("城市书房有多少工作人员").asked_units

    units_file = knowledge_copy / "units.yaml"
    shipped = units_file.read_text(encoding="utf-8")
    assert asked("shipped") == {"人", "名", "位"}
    units_file.write_text(shipped.replace("asked: [游客,", "asked: [管理员, 游客,"), encoding="utf-8")
    assert asked("ambiguous") == frozenset()
    moved = shipped.replace(" 党员,", "").replace(" 专员,", "").replace(
        "  - units: [人次]", "  - units: [名]\n    asked: [党员, 专员]\n  - units: [人次]")
    units_file.write_text(moved, encoding="utf-8")
    assert asked("moved") == {"名"}
