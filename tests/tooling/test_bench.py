"""The benchmark command and the synthetic corpus generator: they run and report sane figures.

No timing assertions (timings depend on the machine); what is checked is that each cheap part runs on
a tiny corpus, the JSON has the keys the report and the plot read, and the values are consistent.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
import yaml

from bot.chunking import chunk_knowledge
from bot.config import load_settings
from bot.knowledge import load_knowledge
from devtools.__main__ import bench_options, parser
from devtools.bench import measure as bench_measure
from devtools.bench.measure import BenchOptions
from devtools.bench.run import run_bench
from devtools.bench.synthetic import generate

pytestmark = pytest.mark.slow  # seconds per test: left out of `make quick`

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


def test_synthetic_corpus_is_valid_knowledge_of_the_asked_size(tmp_path: Path) -> None:
    corpus = generate(KNOWLEDGE, tmp_path / "k", 200, seed=3)
    knowledge = load_knowledge(tmp_path / "k")  # the normal loader validates every file
    assert len(chunk_knowledge(knowledge, 160)) == corpus.passages == 200
    assert len(knowledge.sections) == corpus.sections and knowledge.synonyms
    assert all(5 <= len(s.paragraphs) <= 20 for s in knowledge.sections[:-1])  # the last one fills up
    assert len(corpus.questions) == 150 and all(q.strip() for q in corpus.questions)
    again = generate(KNOWLEDGE, tmp_path / "k2", 200, seed=3)  # seeded: the same files again
    assert sorted(p.read_text() for p in (tmp_path / "k").glob("g*.yaml")) == \
        sorted(p.read_text() for p in (tmp_path / "k2").glob("g*.yaml"))
    assert again.questions == corpus.questions


def test_synthetic_text_varies_the_article(tmp_path: Path) -> None:
    generate(KNOWLEDGE, tmp_path / "k", 300, seed=1)
    text = "".join(p for s in load_knowledge(tmp_path / "k").sections for p in s.paragraphs)
    article = "".join(p for s in load_knowledge(KNOWLEDGE).sections for p in s.paragraphs)
    assert any(county in text for county in ("义乌", "安吉", "龙泉", "桐乡", "象山"))  # places swapped
    sentences = {s for s in text.split("。") if s}
    assert len(sentences - set(article.split("。"))) > len(sentences) // 2  # mostly new sentences


def test_edit_one_sample_changes_one_paragraph(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(KNOWLEDGE, tmp_path / "k")
    before = load_knowledge(tmp_path / "k")
    edit = bench_measure.edit_one_sample(tmp_path / "k")
    after = load_knowledge(tmp_path / "k")
    changed = [(a, b) for a, b in zip(before.sections, after.sections) if a.paragraphs != b.paragraphs]
    assert len(changed) == 1 and edit["before"] != edit["after"]
    old, new = changed[0]
    assert sum(x != y for x, y in zip(old.paragraphs, new.paragraphs)) == 1


def test_percentiles_and_summaries() -> None:
    assert bench_measure.percentile([1, 2, 3, 4], 50) == 2.5
    assert bench_measure.percentile([5], 95) == 5
    summary = bench_measure.summary_ms([0.001, 0.002, 0.010])
    assert summary["n"] == 3 and summary["p50_ms"] == 2.0 and summary["p50_ms"] <= summary["p95_ms"] <= 10.0


@pytest.mark.parametrize("flags, message", [
    (["--parts", "latency,nope"], "unknown part(s) nope"), (["--parts", ","], "unknown part(s) (none given)"),
    (["--sizes", "10,ten"], "sizes must be whole passage counts"), (["--sizes", "0"], "positive passage counts"),
    (["--rounds", "0"], "must be more than 0, not 0"), (["--bot-rate", "-1"], "must be more than 0, not -1"),
    (["--bot-users", "2.5"], "must be a whole number, not '2.5'")])
def test_bad_options_are_usage_errors(flags: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        parser().parse_args(["bench", *flags])
    assert exit.value.code == 2 and message in capsys.readouterr().err


def test_defaults_live_in_the_options_and_every_option_has_a_flag() -> None:
    assert bench_options(parser().parse_args(["bench"])) == BenchOptions()
    argv = ["--settings", "s.yaml", "--set", "rate_limit_per_minute=0", "bench", "--parts", "build,bot",
            "--sizes", "300,4_000", "--output", "o.json", "--plot", "p.png", "--markdown", "R.md",
            "--questions", "q.yaml", "--rounds", "2", "--skip-threads", "--bot-users", "7", "--bot-questions", "3",
            "--bot-rate", "9.5", "--bot-seconds", "1.5", "--keep", "--reuse", "kept"]
    options = bench_options(parser().parse_args(argv))
    assert options == BenchOptions(
        parts=("build", "bot"), sizes=(300, 4000), output=Path("o.json"), plot=Path("p.png"),
        markdown=Path("R.md"), questions=Path("q.yaml"), rounds=2, skip_threads=True, bot_users=7,
        bot_questions=3, bot_rate=9.5, bot_seconds=1.5, keep=True, reuse=Path("kept"), settings="s.yaml",
        overrides=(("rate_limit_per_minute", "0"),))
    unset = [f.name for f in dataclasses.fields(BenchOptions) if getattr(options, f.name) == f.default]
    assert not unset  # each option was set from the command line above


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of the cheap parts: latency (no thread study), build, scale at 200 passages, a small bot load."""
    tmp = tmp_path_factory.mktemp("bench")
    settings = load_settings(environ={}).replace(
        knowledge_dir=str(KNOWLEDGE), index_dir=str(tmp / "index"), feedback_db=str(tmp / "feedback.sqlite3"),
        exact_search_max=100)  # so the 200-passage corpus is served by HNSW and its recall is measured
    args = parser().parse_args([
        "bench", "--parts", "latency,build,scale,bot", "--sizes", "200", "--output", str(tmp / "results.json"),
        "--plot", str(tmp / "plot.png"), "--markdown", str(tmp / "RESULTS.md"), "--rounds", "1",
        "--skip-threads", "--bot-users", "6", "--bot-questions", "2", "--bot-rate", "20", "--bot-seconds", "0.5"])
    out = io.StringIO()
    assert run_bench(bench_options(args), settings, out) == 0
    data = json.loads((tmp / "results.json").read_text(encoding="utf-8"))
    data["_printed"] = out.getvalue()
    data["_tmp"] = str(tmp)
    return data


def test_results_have_every_part_and_the_machine(results: dict) -> None:
    assert {"meta", "latency", "build", "scale"} <= set(results)
    assert results["meta"]["cores"] >= 1 and results["meta"]["parts"][:3] == ["latency", "build", "scale"]
    assert "answer p50 / p95" in results["_printed"] and "scale 200" in results["_printed"]
    tmp = Path(results["_tmp"])
    assert (tmp / "plot.png").stat().st_size > 1000
    markdown = (tmp / "RESULTS.md").read_text(encoding="utf-8")
    assert "`python -m devtools bench --parts latency,build,scale,bot --sizes 200`" in markdown
    assert "| figure | value | target |" in markdown and "| build | load_knowledge | chunk | embed |" in markdown


def _sane(summary: dict) -> None:
    assert summary["n"] > 0 and 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"]


def test_latency_part(results: dict) -> None:
    latency = results["latency"]
    questions = len(yaml.safe_load((ROOT / bench_measure.DEV_QUESTIONS).read_text(encoding="utf-8")))
    assert latency["questions"] == questions and latency["rounds"] == 1 and latency["total"]["n"] == questions
    _sane(latency["total"])
    assert "threads" not in latency  # --skip-threads
    assert set(bench_measure.ANSWER_PARTS) <= set(latency["parts"])
    for part in latency["parts"].values():
        _sane(part)
    assert latency["total_over_encode"] >= 1.0  # encoding is one part of the whole


def test_build_part(results: dict) -> None:
    build = results["build"]
    full, incremental = build["full"], build["incremental"]
    assert full["embedded"] > 0 and full["reused"] >= 0 and full["passages"] > 10
    assert 1 <= incremental["embedded"] <= 2  # the edited passage and its sentence (one text if it is one)
    assert incremental["reused"] >= full["embedded"] - 2  # everything else comes from the previous build
    assert build["incremental_share"] > 0
    for run in (full, incremental):  # the phases the build reports, model load apart (it is paid once)
        assert list(run["phases_s"]) == ["load_knowledge", "chunk", "embed", "tokenizer", "segment", "lexical",
                                         "write", "vector_index"]
        assert 0 < sum(run["phases_s"].values()) <= run["seconds"] + 0.01  # rounding of each phase


def test_scale_part(results: dict) -> None:
    [row] = results["scale"]["sizes"]
    assert row["passages"] == 200 and row["build"]["passages"] == 200
    assert row["index_mb"] > 0 and row["build"]["embedded"] > 200
    serving = row["serving"]
    assert serving["passages"] == 200 and serving["vector_index"].startswith("IndexHNSW")
    assert serving["rss_mb"]["engine_loaded"] > serving["rss_mb"]["interpreter"] > 0
    _sane(serving["answers"]["total"])
    assert serving["answers"]["questions"] == 50 + 150
    recall = serving["recall"]
    assert 0.0 <= recall["recall@10"] <= 1.0 and recall["queries"] == 200
    assert row["incremental"]["embedded"] >= 1 and row["incremental"]["share"] > 0


def test_reuse_serves_the_corpus_and_index_a_run_left(tmp_path: Path) -> None:
    """A second run with --reuse probes the kept corpus without generating or building it again; an index of an
    older format is rebuilt from the same corpus."""
    settings = load_settings(environ={}).replace(knowledge_dir=str(KNOWLEDGE), index_dir=str(tmp_path / "index"))

    def run() -> dict:
        args = parser().parse_args(["bench", "--parts", "scale", "--sizes", "120", "--reuse", str(tmp_path / "kept"),
                                    "--output", str(tmp_path / "r.json"), "--plot", str(tmp_path / "p.png"),
                                    "--markdown", str(tmp_path / "R.md")])
        assert run_bench(bench_options(args), settings, io.StringIO()) == 0
        [row] = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["scale"]["sizes"]
        return row

    first = run()
    build = first["build"]["path"]
    second = run()
    assert first["reused"] == "" and second["reused"] == "corpus and index"
    assert second["build"] == first["build"] and second["serving"]["passages"] == 120
    assert second["serving"]["answers"]["questions"] == first["serving"]["answers"]["questions"]
    current = tmp_path / "kept" / "scale-120" / "index" / "CURRENT"
    manifest = Path(build).parent / current.read_text().strip() / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": ', '"format": -1, "was": '))
    third = run()
    assert third["reused"] == "corpus" and third["serving"]["passages"] == 120


def test_bot_part(results: dict) -> None:
    bot = results["bot"]
    capacity, steady = bot["capacity"], bot["steady"]
    assert capacity["replies"] == capacity["questions"] == 6 * 2 and capacity["unanswered"] == 0
    assert steady["replies"] == steady["questions"] == 10 and steady["unanswered"] == 0
    _sane(capacity["latency"])
    _sane(steady["latency"])
    assert bot["replies_per_s"] > 0
    for load in (capacity, steady):  # the bot's event loop is told apart from the other threads
        assert load["cpu_s_by_thread"]["event loop (python-telegram-bot, httpx)"] > 0
