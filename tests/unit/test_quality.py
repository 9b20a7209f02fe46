"""Answers over content nobody here tuned for: SQuAD-style eval, both scripts, the fitted model, passage size.

The external excerpt (tests/fixtures/squad_excerpt.json, see EXTERNAL.md) is three CMRC 2018 contexts in
Simplified and three DRCD contexts in Traditional, with their own questions.
"""

import json

import pytest

from bot.baseline import BaselineBM25
from bot.chunking import chunk_knowledge
from bot.cli import main
from bot.engine import Engine
from bot.errors import ConfigError, SquadError
from bot.figures import extract_figures, figure_units, read_figures
from bot.index import build_index
from bot.knowledge import load_knowledge
from bot.normalize import fold, fold_in_place
from bot.ranking import ANSWER_FEATURES, PASSAGE_FEATURES, load_model, parse_model
from bot.squad import read_squad, write_knowledge
from devtools.quality_table import quality_table, write_into
from tests.helpers import FIXTURES, KNOWLEDGE, ROOT, make_settings

EXCERPT = FIXTURES / "squad_excerpt.json"


@pytest.fixture(scope="module")
def excerpt_engine(tmp_path_factory, embedder):
    """The excerpt's contexts as knowledge (each its own section), indexed with the real model."""
    tmp = tmp_path_factory.mktemp("excerpt")
    contexts, _ = read_squad(EXCERPT)
    write_knowledge(contexts, tmp / "knowledge")
    settings = make_settings(tmp, knowledge=tmp / "knowledge")
    build_index(settings, lambda _: embedder)
    return Engine(settings, embedder)


def test_a_squad_file_is_read_into_contexts_and_questions():
    contexts, questions = read_squad(EXCERPT)
    assert len(contexts) == 6 and len(questions) == 18
    assert {q.context_id for q in questions} == {c.id for c in contexts}
    assert contexts[0].title == "尤金袋鼠"


def test_a_malformed_squad_file_names_the_file_and_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": [{"title": "x", "paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    with pytest.raises(SquadError, match=r"bad\.json.*'context'"):
        read_squad(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(SquadError, match="bad.json: not a readable JSON"):
        read_squad(bad)


def test_traditional_content_answers_simplified_and_traditional_questions(excerpt_engine):
    for question in ["威武陈元帅庙中主要祭祀的人是怎么死的？", "威武陳元帥廟中主要祭祀的人是怎麼死的？"]:
        answer = excerpt_engine.answer(question)
        assert answer.answered, question
        assert "自沉於海" in answer.passages[0].text  # quoted in the content's own characters


def test_external_questions_rank_the_answer_first_at_least_as_often_as_the_baseline(excerpt_engine):
    _, questions = read_squad(EXCERPT)
    baseline = BaselineBM25(excerpt_engine.index.chunks)
    bot = sum(any(a in excerpt_engine.answer(q.question).passages[0].text for a in q.answers) for q in questions)
    bm25 = sum(any(a in baseline.rank(q.question)[0].text for a in q.answers) for q in questions)
    assert bot >= bm25 and bot >= 16  # of 18


def test_questions_of_another_set_are_declined_against_the_article(engine):
    _, questions = read_squad(EXCERPT)
    assert not any(engine.answer(q.question).answered for q in questions)


@pytest.mark.slow  # builds an index of its own
def test_eval_of_a_squad_file_prints_bot_and_baseline(real_settings, tmp_path, capsys):
    settings_args = ["--set", f"index_dir={real_settings.path('index_dir')}",
                     "--set", f"knowledge_dir={real_settings.path('knowledge_dir')}"]
    out = tmp_path / "report.json"
    assert main(settings_args + ["eval", str(EXCERPT), "--work-dir", str(tmp_path), "--json-out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "BM25" in printed and "hit@1" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["questions"] == 18
    assert set(report["metrics"]) >= {"hit@1", "hit@3", "hit@5", "mrr", "right_text@1", "answered"}
    assert set(report["baseline"]) >= {"hit@1", "hit@3", "hit@5", "mrr"}
    assert main(settings_args + ["eval", str(EXCERPT), "--as-offtopic", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["declined"] == 1.0


def test_the_quality_table_is_written_from_reports(tmp_path):
    squad = {"questions": 10, "metrics": {"hit@1": 0.9, "hit@3": 0.95, "answered": 1.0},
             "baseline": {"hit@1": 0.8, "hit@3": 0.9}}
    offtopic = {"questions": 5, "declined": 1.0}
    table = quality_table([("CMRC", squad), ("CMRC", offtopic)])
    assert "| CMRC | 10 | 0.900 / 0.950 | 1.000 | 0.800 / 0.900 |" in table
    assert "declined 1.000" in table
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- quality-table -->\nold\n<!-- /quality-table -->\nend\n", encoding="utf-8")
    write_into(page, table)
    assert page.read_text(encoding="utf-8") == f"intro\n<!-- quality-table -->\n{table}\n<!-- /quality-table -->\nend\n"


def test_the_shipped_model_has_the_code_s_features_and_a_wrong_one_is_refused():
    model = load_model()
    assert model.passage.features == PASSAGE_FEATURES and model.answerable.features == ANSWER_FEATURES
    data = model.to_json()
    data["passage"]["features"].pop("title")
    with pytest.raises(ValueError, match="refit"):
        parse_model(data, "broken.json")


def test_passages_are_at_most_300_characters_and_a_larger_size_is_refused():
    knowledge = load_knowledge(KNOWLEDGE)
    assert max(len(c.text) for c in chunk_knowledge(knowledge, 300)) <= 300
    with pytest.raises(ConfigError, match="chunk_max_chars"):
        chunk_knowledge(knowledge, 301)


def test_content_and_questions_fold_the_same_way():
    assert fold("溫州ＧＤＰ　裏") == fold("温州gdp 里")
    assert fold_in_place("覆蓋５１４個村社") == "覆盖514个村社"  # same positions: spans quote the original


def test_figures_in_traditional_and_chinese_numerals_are_read():
    assert extract_figures("全市５１４個村社，1.3億元") == ["５１４個", "1.3億元"]  # quoted as written
    assert figure_units("覆蓋514個村社") == {"个"}
    assert read_figures("修訂了四次") and read_figures("四千名工作人員") and not read_figures("沒有數字")


def test_the_readme_and_docs_show_the_table_the_committed_reports_give():
    """The quality figures users read are the eval reports' own, never typed by hand."""
    root = ROOT
    names = [("dev", "dev"), ("held-out", "heldout"), ("CMRC 2018 trial", "cmrc2018_trial"),
             ("DRCD test", "DRCD_test"), ("CMRC 2018 trial", "cmrc2018_trial-offtopic"),
             ("DRCD test", "DRCD_test-offtopic")]
    reports = [(name, json.loads((root / "docs" / "quality" / f"{file}.json").read_text(encoding="utf-8")))
               for name, file in names]
    block = f"<!-- quality-table -->\n{quality_table(reports)}\n<!-- /quality-table -->"
    for page in (root / "README.md", root / "docs" / "quality.md"):
        assert block in page.read_text(encoding="utf-8"), page.name
