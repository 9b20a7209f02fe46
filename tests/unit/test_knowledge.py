import pytest

from bot.knowledge import KnowledgeError, load_knowledge

from conftest import KNOWLEDGE


def test_real_content_loads():
    knowledge = load_knowledge(KNOWLEDGE)
    assert [s.id for s in knowledge.sections] == ["intro"] + [f"s{i}" for i in range(1, 11)]
    s5 = knowledge.section("s5")
    assert s5.heading.startswith("样本五 · ")
    assert s5.area == "城乡区域协调发展先行示范"
    assert all("陈亮 摄" not in p for s in knowledge.sections for p in s.paragraphs)
    assert len(knowledge.synonyms) > 20


def _problems(directory):
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return info.value.problems


def test_bad_yaml_names_file_and_line(knowledge_copy):
    (knowledge_copy / "s03.yaml").write_text("id: s3\ntitle: [unclosed\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith("s03.yaml: not valid YAML at line") for p in problems)


def test_missing_field_names_file_and_field(knowledge_copy):
    path = knowledge_copy / "s04.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "titel:"), encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert "s04.yaml: field 'title' is missing" in problems
    assert "s04.yaml: unknown field(s) titel" in problems


def test_duplicate_id_and_empty_body(knowledge_copy):
    path = knowledge_copy / "s06.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: s6", "id: s7"), encoding="utf-8")
    (knowledge_copy / "extra.yaml").write_text(
        "id: extra\ntitle: 空\nsource: {article: 文章}\nparagraphs: []\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any("field 'id': duplicate id 's7'" in p for p in problems)
    assert "extra.yaml: field 'paragraphs' is missing or empty (the body text is required)" in problems


def test_every_problem_is_reported_at_once(knowledge_copy):
    (knowledge_copy / "s01.yaml").write_text("- not a mapping\n", encoding="utf-8")
    (knowledge_copy / "synonyms.yaml").write_text("groups:\n  - [只有一个]\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith("s01.yaml: expected a mapping") for p in problems)
    assert any(p.startswith("synonyms.yaml: field 'groups' item 1") for p in problems)


def test_missing_folder(tmp_path):
    assert "knowledge folder not found" in _problems(tmp_path / "missing")[0]


def test_unit_groups_are_validated(knowledge_copy):
    (knowledge_copy / "units.yaml").write_text(
        "groups:\n"
        "  - {units: [元], asked: [钱, 资金]}\n"
        "  - {units: [斤], asked: [重量]}\n"
        "  - {units: [元], asked: [钱]}\n"
        "  - {units: [], asked: [比例]}\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(p.startswith("units.yaml: field 'groups' item 2: 'units' 斤 not among the units") for p in problems)
    assert "units.yaml: field 'groups' item 3: 'asked' word '钱' is also in item 1" in problems
    assert "units.yaml: field 'groups' item 4 needs non-empty lists 'units' and 'asked'" in problems
