"""Pins as files staff review (bot.pins) and the `pin`, `build --check` and `remove` commands around them: what a
maintainer relies on to keep corrections that survive rebuilds and say clearly when they no longer hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import cli
from bot.knowledge import load_knowledge
from bot.pins import load_pins, parse_pins
from bot.store import Store
from bot.store.report import format_report
from bot.store.store import NONE_FITS, PINNED
from tests.helpers import make_settings

ARTICLE = "wenzhou-ten-samples"


def run(capsys: pytest.CaptureFixture[str], knowledge: Path, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--set", f"knowledge_dir={knowledge}", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_pin_adds_lists_and_removes_pins_beside_their_article(knowledge_copy: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, knowledge_copy, "pin", "托育老师不够咋整", "s6-1", "--sentence", "师资短缺")
    assert code == 0 and "s6-1" in out
    code, _, _ = run(capsys, knowledge_copy, "pin", "孩子送托班，家长能在手机上看到吗", "s6-1")
    assert code == 0
    data = yaml.safe_load((knowledge_copy / ARTICLE / "pins.yaml").read_text(encoding="utf-8"))
    teachers, parents = data["pins"]
    assert teachers["question"] == "托育老师不够咋整" and teachers["section"] == "s6"
    assert "有效解决师资短缺问题" in teachers["sentence"] and "passage" not in teachers  # the whole sentence
    assert "sentence" not in parents and parents["passage"].startswith("为系统解决居民")  # the passage's first one
    assert teachers["by"] == "cli" and teachers["at"]
    # the pins file is no section: the article loads as before
    assert len([s for s in load_knowledge(knowledge_copy).sections if s.article_id == ARTICLE]) == 11

    code, out, _ = run(capsys, knowledge_copy, "pin", "--list")
    assert code == 0 and "托育老师不够咋整" in out and "孩子送托班" in out and "2 pin(s)" in out

    code, _, _ = run(capsys, knowledge_copy, "pin", "托育老师不够咋整？", "s6-1", "--sentence", "2")
    assert code == 0  # the same question (punctuation aside) pinned again replaces its pin
    assert [p.question for p in load_pins(knowledge_copy)] == ["孩子送托班，家长能在手机上看到吗", "托育老师不够咋整？"]

    code, out, _ = run(capsys, knowledge_copy, "pin", "--remove", "托育老师不够咋整")
    assert code == 0 and "removed" in out
    assert [p.question for p in load_pins(knowledge_copy)] == ["孩子送托班，家长能在手机上看到吗"]
    run(capsys, knowledge_copy, "pin", "--remove", "孩子送托班，家长能在手机上看到吗")
    assert not (knowledge_copy / ARTICLE / "pins.yaml").exists()  # the last pin takes its file with it


@pytest.mark.parametrize(("argv", "said"), [
    (["一个问题", "s6-99"], "no passage 's6-99'"),
    (["一个问题", "s6-1", "--sentence", "9"], "--sentence must be 1 to"),
    (["一个问题", "s6-1", "--sentence", "火星"], "no sentence with “火星”"),
    (["一个问题"], "give the question and the passage id"),
    (["--remove", "没有这个"], "no pin of the question"),
])
def test_pin_refuses_what_it_cannot_do_naming_it(knowledge_copy: Path, capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], said: str) -> None:
    code, _, err = run(capsys, knowledge_copy, "pin", *argv)
    assert code == 1 and said in err
    assert not (knowledge_copy / ARTICLE / "pins.yaml").exists()


def test_a_passage_outside_an_article_folder_cannot_be_pinned(knowledge_copy: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (knowledge_copy / "loose.yaml").write_text("id: loose1\nsource:\n  article: 散篇\ntitle: 散篇一节\nparagraphs:\n"
                                               "  - 这是一段放在文件夹外面的内容，共有12家单位。\n", encoding="utf-8")
    code, _, err = run(capsys, knowledge_copy, "pin", "散篇有几家", "loose1-1")
    assert code == 1 and "outside an article folder" in err and "pins.yaml" in err
    assert not list(knowledge_copy.rglob("pins.yaml"))


@pytest.mark.parametrize(("entry", "said"), [
    ({"section": "s6", "sentence": "x"}, "pin 1: field 'question' is missing"),
    ({"question": "q", "sentence": "x"}, "pin 1: field 'section' is missing"),
    ({"question": "q", "section": "s6"}, "give exactly one of 'sentence'"),
    ({"question": "q", "section": "s6", "sentence": "x", "passage": "y"}, "give exactly one of 'sentence'"),
    ({"question": ["q"], "section": "s6", "sentence": "x"}, "pin 1: field 'question' must be non-empty text"),
    ({"question": "q", "section": "s6", "sentence": "x", "why": "z"}, "pin 1: unknown field(s) why"),
])
def test_a_malformed_pin_names_the_file_and_the_field(entry: dict[str, object], said: str) -> None:
    pins, problems = parse_pins({"pins": [entry]}, f"{ARTICLE}/pins.yaml")
    assert pins == [] and len(problems) == 1
    assert problems[0].startswith(f"{ARTICLE}/pins.yaml: ") and said in problems[0]


def test_a_pins_file_without_a_list_is_named() -> None:
    assert parse_pins({"pin": []}, "a/pins.yaml")[1] == ["a/pins.yaml: field 'pins' is missing or not a list of pins"]


def test_build_check_names_a_pin_whose_text_is_gone(knowledge_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, knowledge_copy, "pin", "托育老师不够咋整", "s6-1", "--sentence", "师资短缺")[0] == 0
    code, out, _ = run(capsys, knowledge_copy, "build", "--check")
    assert code == 0 and "1 pin " in out
    # an unrelated edit elsewhere in the section, and a re-split into other passages, leave the pin standing
    section = knowledge_copy / ARTICLE / "s06.yaml"
    section.write_text(section.read_text(encoding="utf-8").replace("553家", "560家"), encoding="utf-8")
    assert run(capsys, knowledge_copy, "--set", "chunk_max_chars=120", "build", "--check")[0] == 0
    section.write_text(section.read_text(encoding="utf-8").replace("师资短缺", "师资不足"), encoding="utf-8")
    code, _, err = run(capsys, knowledge_copy, "build", "--check")
    assert code == 1
    assert f"{ARTICLE}/pins.yaml: pin “托育老师不够咋整”: field 'sentence': section 's6' no longer has the text" in err
    (knowledge_copy / ARTICLE / "s06.yaml").unlink()
    code, _, err = run(capsys, knowledge_copy, "build", "--check")
    assert code == 1 and "field 'section': no section 's6' any more" in err


def test_remove_lists_the_pins_that_go_with_the_article(knowledge_copy: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, knowledge_copy, "pin", "托育老师不够咋整", "s6-1")
    code, out, _ = run(capsys, knowledge_copy, "remove", ARTICLE, "--yes")
    assert code == 0 and "1 pin(s) go with it" in out and "“托育老师不够咋整” → section s6" in out
    assert not (knowledge_copy / ARTICLE).exists()


def test_pinning_from_the_command_line_marks_the_question_reviewed(
        knowledge_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, knowledge_copy)
    store = Store(settings)
    store.record_question(1, "托育老师不够咋整", False, "off_topic")
    store.record_question(1, "火星上有多少人", False, "off_topic")
    assert cli.main(["--set", f"knowledge_dir={knowledge_copy}", "--set", f"feedback_db={settings.feedback_db}",
                     "pin", "托育老师不够咋整", "s6-1"]) == 0
    store.record_review("火星上有多少人", NONE_FITS)
    report = store.report()
    store.close()
    assert {r["question"]: r["reviewed"] for r in report["unanswered"]} == {"托育老师不够咋整": PINNED,
                                                                          "火星上有多少人": NONE_FITS}
    text = format_report(report)
    assert "托育老师不够咋整（已固定到段落）" in text
    gaps = text.split("内容缺口（审阅时")[1].split("留言")[0]
    assert "火星上有多少人" in gaps and "托育老师" not in gaps


def test_the_pin_command_of_the_report_pastes_into_a_shell_as_the_question() -> None:
    import shlex

    from bot.review import pin_command

    question = "家长's 问题 $(rm -rf /) `x`"
    command = pin_command(question, "s6-1")
    assert shlex.split(command) == ["python", "-m", "bot", "pin", question, "s6-1"]
