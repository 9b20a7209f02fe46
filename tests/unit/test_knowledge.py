import json
import os
from pathlib import Path

import pytest

from bot.errors import KnowledgeError
from bot.knowledge import Article, Content, content_from_json, content_to_json, describe_content, load_knowledge
from tests.helpers import KNOWLEDGE

SEED = "wenzhou-ten-samples"  # the seed article's folder
SECOND = "water-saving-city"  # the second article, so nothing quietly assumes one


def test_real_content_loads_as_articles():
    knowledge = load_knowledge(KNOWLEDGE)
    assert [a.id for a in knowledge.articles] == [SEED, SECOND]
    seed = [s.id for s in knowledge.sections if s.article_id == SEED]
    assert seed == ["intro"] + [f"s{i}" for i in range(1, 11)]
    assert {s.article_id for s in knowledge.sections} == {SEED, SECOND}
    s5 = knowledge.section("s5")
    assert s5.short_heading.startswith("样本五 · ") and s5.article == "温州聚焦先行示范 十大实践样本出炉"
    assert s5.authors == ("周琳子", "叶志攀") and s5.photo_credit.startswith("本版图片由")
    assert s5.area == "城乡区域协调发展先行示范"
    assert all("陈亮 摄" not in p for s in knowledge.sections for p in s.paragraphs)
    assert len(knowledge.synonyms) > 20 and knowledge.examples


def test_headings_name_the_article_only_when_several_are_loaded(tmp_path):
    knowledge = load_knowledge(KNOWLEDGE)
    s5 = knowledge.section("s5")
    assert s5.heading == f"{s5.short_heading}（《温州聚焦先行示范 十大实践样本出炉》）"
    assert knowledge.section("intro").heading == "导语 · 温州聚焦先行示范 十大实践样本出炉"  # the title is the headline
    single = tmp_path / "one"
    single.mkdir()
    os.symlink(KNOWLEDGE / SEED, single / SEED)
    assert load_knowledge(single).section("s5").heading == s5.short_heading


def _problems(directory):
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return info.value.problems


def test_bad_yaml_names_file_and_line(knowledge_copy):
    (knowledge_copy / SEED / "s03.yaml").write_text("id: s3\ntitle: [unclosed\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith(f"{SEED}/s03.yaml: not valid YAML at line") for p in problems)


def test_missing_field_names_file_and_field(knowledge_copy):
    path = knowledge_copy / SEED / "s04.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "titel:"), encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert f"{SEED}/s04.yaml: field 'title' is missing" in problems
    assert f"{SEED}/s04.yaml: unknown field(s) titel" in problems


def test_duplicate_id_across_articles_and_empty_body(knowledge_copy):
    path = knowledge_copy / SECOND / "01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: water-saving-city-1", "id: s7"), encoding="utf-8")
    (knowledge_copy / SEED / "extra.yaml").write_text("id: extra\ntitle: 空\nparagraphs: []\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert f"{SECOND}/01.yaml: field 'id': duplicate id 's7' (also in {SEED}/s07.yaml)" in problems
    assert f"{SEED}/extra.yaml: field 'paragraphs' is missing or empty (the body text is required)" in problems


def test_every_problem_is_reported_at_once(knowledge_copy):
    (knowledge_copy / SEED / "s01.yaml").write_text("- not a mapping\n", encoding="utf-8")
    (knowledge_copy / "synonyms.yaml").write_text("groups:\n  - [只有一个]\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith(f"{SEED}/s01.yaml: expected a mapping") for p in problems)
    assert any(p.startswith("synonyms.yaml: field 'groups' item 1") for p in problems)


def test_missing_folder(tmp_path):
    assert "knowledge folder not found" in _problems(tmp_path / "missing")[0]


def test_unit_groups_are_validated(knowledge_copy):
    (knowledge_copy / "units.yaml").write_text(
        "groups:\n"
        "  - {units: [元], asked: [钱, 资金]}\n"
        "  - {units: [坨], asked: [重量]}\n"
        "  - {units: [元], asked: [钱]}\n"
        "  - {units: [], asked: [比例]}\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith("units.yaml: field 'groups' item 2: 'units' 坨 not among the units") for p in problems)
    assert "units.yaml: field 'groups' item 3: 'asked' word '钱' is also in item 1" in problems
    assert "units.yaml: field 'groups' item 4 needs non-empty lists 'units' and 'asked'" in problems


# ---- every file the bot reads is checked: examples, article.yaml ------------------------------------------


def test_examples_are_validated_by_the_loader(knowledge_copy):
    (knowledge_copy / "examples.yaml").write_text("questions: 5\n", encoding="utf-8")
    assert _problems(knowledge_copy) == ["examples.yaml: field 'questions' must be a non-empty list of questions"]
    (knowledge_copy / "examples.yaml").write_text("questions: [好问题, '\u200b', " + "长" * 41 + "]\n",
                                                  encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert "examples.yaml: field 'questions' item 2 is empty or not text" in problems
    assert any(p.startswith("examples.yaml: field 'questions' item 3 is longer than 40") for p in problems)


def test_article_file_is_required_and_validated(knowledge_copy):
    (knowledge_copy / SECOND / "article.yaml").unlink()
    (knowledge_copy / SEED / "article.yaml").write_text("headline: x\nauthors: 周琳子\norder: first\n",
                                                        encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith(f"{SECOND}/article.yaml: missing") for p in problems)
    assert f"{SEED}/article.yaml: field 'authors' must be a list of names" in problems
    assert any(p.startswith(f"{SEED}/article.yaml: field 'order' must be a whole number") for p in problems)


# ---- file-system faults, duplicate keys, invisible text: 'file: problem', never a traceback ------------------


def test_duplicate_key_names_file_and_key(knowledge_copy):
    path = knowledge_copy / SEED / "s01.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "id: s99\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith(f"{SEED}/s01.yaml: not valid YAML at line") and "duplicate key 'id'" in p
               for p in problems), problems


def test_duplicate_key_in_a_vocabulary_file(knowledge_copy):
    (knowledge_copy / "units.yaml").write_text("groups: []\ngroups: []\n", encoding="utf-8")
    assert any(p.startswith("units.yaml:") and "duplicate key 'groups'" in p for p in _problems(knowledge_copy))


@pytest.mark.parametrize("field, text", [("title", "\u200b\u200b"), ("paragraph", "\ufeff \u200d")])
def test_invisible_only_text_names_file_and_field(knowledge_copy, field, text):
    path = knowledge_copy / SECOND / "02.yaml"
    content = path.read_text(encoding="utf-8")
    if field == "title":
        content = content.replace('title: "二、改造老旧管网降低漏损"', f'title: "{text}"')
        expected = f"{SECOND}/02.yaml: field 'title' has only invisible characters"
    else:
        content = content.replace("paragraphs:\n", f'paragraphs:\n- "{text}"\n')
        expected = f"{SECOND}/02.yaml: field 'paragraphs' item 1 has only invisible characters"
    path.write_text(content, encoding="utf-8")
    assert expected in _problems(knowledge_copy)


def test_symlink_loop_is_a_message(knowledge_copy):
    os.symlink("loop.yaml", knowledge_copy / SEED / "loop.yaml")
    problems = _problems(knowledge_copy)
    assert any(p.startswith(f"{SEED}/loop.yaml: cannot be read (") for p in problems), problems


def test_symlink_loop_as_an_article_folder_is_a_message(knowledge_copy):
    os.symlink("looping", knowledge_copy / "looping")
    assert any(p.startswith("looping: cannot be read (") for p in _problems(knowledge_copy))


def test_folder_named_like_a_yaml_file(knowledge_copy):
    (knowledge_copy / SEED / "x.yaml").mkdir()
    (knowledge_copy / "y.yaml").mkdir()
    problems = _problems(knowledge_copy)
    assert f"{SEED}/x.yaml: is a folder or special file, not a YAML file" in problems
    assert "y.yaml: is a folder or special file, not a YAML file" in problems


def test_unreadable_file_is_a_message(knowledge_copy, monkeypatch):
    target = knowledge_copy / SEED / "s02.yaml"
    original = Path.read_text

    def read_text(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    assert f"{SEED}/s02.yaml: cannot be read (Permission denied)" in _problems(knowledge_copy)


def test_dangling_symlink_is_a_message(knowledge_copy):
    (knowledge_copy / "synonyms.yaml").unlink()
    os.symlink("gone.yaml", knowledge_copy / "synonyms.yaml")
    assert any(p.startswith("synonyms.yaml: cannot be read (") for p in _problems(knowledge_copy))


# ---- the older flat layout: section files naming their article ---------------------------------------------


def test_flat_section_files_group_by_source_article(tmp_path):
    for name, article in (("a1", "甲文"), ("a2", "甲文"), ("b1", "乙文")):
        (tmp_path / f"{name}.yaml").write_text(
            f"id: {name}\ntitle: 标题{name}\nsource: {{article: {article}, authors: [某人]}}\nparagraphs: [正文。]\n",
            encoding="utf-8")
    knowledge = load_knowledge(tmp_path)
    assert [(a.id, a.headline) for a in knowledge.articles] == [("甲文", "甲文"), ("乙文", "乙文")]
    assert [s.article_id for s in knowledge.sections] == ["甲文", "甲文", "乙文"]


def test_describe_content_names_the_articles():
    articles = (Article(id="a", headline="甲文"), Article(id="b", headline="乙文", authors=("某",)))
    assert describe_content(Content(articles)) == "《甲文》等 2 篇文章"
    assert describe_content(Content(articles[:1])) == "《甲文》"
    assert describe_content(Content()) == "（没有载入文章）"


def test_content_round_trips_through_the_index_and_rejects_what_is_not_content():
    knowledge = load_knowledge(KNOWLEDGE)
    content = Content.of(knowledge)
    assert [a.id for a in content.articles] == [a.id for a in knowledge.articles]
    assert content_from_json(json.loads(json.dumps(content_to_json(content), ensure_ascii=False))) == content
    assert any(s.captions for s in content.sections)  # nested typed values survive too
    for foreign in ([], {"sections": []}, {"articles": [{"headline": "x"}], "sections": []}):
        with pytest.raises((KeyError, TypeError, ValueError)):
            content_from_json(foreign)
