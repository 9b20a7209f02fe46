"""Batches as staff and programs send them: JSON lines (`ask --json`) and spreadsheets (`ask --in/--out`)."""

import csv
import io
import json
import re
import sys

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from bot.batch import read_line
from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.index import build_index
from bot.normalize import to_traditional
from bot.sheets import open_sheet, text_cell
from tests.helpers import make_settings

SEED = "wenzhou-ten-samples"
HEADLINE = "温州聚焦先行示范 十大实践样本出炉"
ADDED = ["答复句", "数字", "原文段落", "文章", "章节", "日期", "链接", "出处", "状态"]
# a staff spreadsheet: its own columns, a blank row, a Traditional question, one the article does not cover,
# and a remark that a spreadsheet program would run as a formula
HEADER = ["编号", "来信人", "来信内容", "备注"]
ROWS = [
    ["A-1", "张三", "温州的城市书房有多少家？", "=HYPERLINK(\"http://x\")"],
    ["", "", "", ""],
    ["A-3", "李四", "溫州城市書房有多少家？", "繁体"],
    ["A-4", "王五", "帮我写一首关于春天的诗", "@SUM(1)"],
    ["A-5", "赵六", "大病保险报销比例提高到了多少？", ""],
]
ANSWERED, OFF_TOPIC, EMPTY = "已答复", "未答复：不在文章范围内", "空行"


def _args(settings):
    return ["--set", f"knowledge_dir={settings.path('knowledge_dir')}",
            "--set", f"index_dir={settings.path('index_dir')}"]


def _ask_lines(settings, text, monkeypatch, capsys, *extra):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))
    code = main(_args(settings) + list(extra) + ["ask", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [json.loads(line) for line in captured.out.splitlines()]


# ---- JSON lines ----------------------------------------------------------------------------------------------

def test_json_lines_give_ids_back_echo_questions_skip_blanks_and_report_bad_lines(real_settings, monkeypatch,
                                                                                   capsys):
    lines = [
        json.dumps({"id": "Q-17", "question": "洞头东岙村民宿有多少家", "batch": {"day": 3}}, ensure_ascii=False),
        "",
        "   ",
        json.dumps({"id": 18, "text": "城市书房有多少家"}, ensure_ascii=False),
        '{"id": "Q-19", "question": 5}',
        "{not json",
        "  大病保险报销比例提高到了多少？",
        json.dumps({"id": None, "question": "写一首关于春天的诗"}, ensure_ascii=False),
    ]
    out = _ask_lines(real_settings, "\n".join(lines) + "\n", monkeypatch, capsys)
    assert len(out) == 6  # the two blank lines are skipped; every other line gets one object, in order
    first, missing, not_text, broken, plain, declined = out
    assert first["id"] == "Q-17" and first["batch"] == {"day": 3}
    assert first["question"] == "洞头东岙村民宿有多少家" and first["answered"] and first["figure"] == "102家"
    assert missing == {"line": 4, "id": 18, "field": "question", "error": missing["error"]}
    assert "'question' is missing" in missing["error"]
    assert not_text["line"] == 5 and not_text["id"] == "Q-19" and not_text["field"] == "question"
    assert broken["line"] == 6 and "not a JSON object" in broken["error"] and "answered" not in broken
    assert plain["question"] == "  大病保险报销比例提高到了多少？" and "id" not in plain  # as given, spaces and all
    assert plain["answered"] and plain["figure"] == "80%"
    assert declined["id"] is None and declined["answered"] is False


def test_a_traditional_question_gets_every_field_in_traditional(real_settings, monkeypatch, capsys):
    simplified, traditional = _ask_lines(real_settings, "温州城市书房有多少家？\n溫州城市書房有多少家？\n",
                                         monkeypatch, capsys)
    assert simplified["answered"] and traditional["answered"]
    assert "城市书房" in simplified["answer"] and simplified["sources"][0]["article"] == HEADLINE
    assert traditional["answer"] == to_traditional(simplified["answer"]) and "城市書房" in traditional["answer"]
    assert traditional["figure"] == to_traditional(simplified["figure"]) and traditional["figure"] is not None
    assert traditional["figures"] == [to_traditional(f) for f in simplified["figures"]]
    source = traditional["sources"][0]
    assert source["article"] == "溫州聚焦先行示範 十大實踐樣本出爐" and source["section"].startswith("樣本八")
    assert traditional["passages"][0]["title"].startswith("樣本八") and "樣本出爐" in traditional["passages"][0]["article"]
    # the passage itself is the original, as written in the article: what ids and pins point at
    assert traditional["passages"][0]["text"] == simplified["passages"][0]["text"]
    assert "城市书房" in traditional["passages"][0]["text"]


def test_sources_carry_the_articles_date_link_and_section(knowledge_copy, tmp_path, embedder, monkeypatch, capsys):
    article = knowledge_copy / SEED / "article.yaml"
    data = yaml.safe_load(article.read_text(encoding="utf-8"))
    data.update(date="2023-06-18", url="https://example.org/wenzhou/ten-samples.html")
    article.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = make_settings(tmp_path, knowledge=knowledge_copy)
    build_index(settings, lambda _: embedder)
    answer, = _ask_lines(settings, "洞头东岙村民宿有多少家\n", monkeypatch, capsys)
    assert answer["answered"]
    source = answer["sources"][0]
    assert source["article"] == HEADLINE and source["date"] == "2023-06-18"
    assert source["link"] == "https://example.org/wenzhou/ten-samples.html"
    assert source["section"].startswith("样本九") and source["sections"][0] == source["section"]


def test_a_line_is_a_question_an_object_or_blank():
    assert read_line(1, "城市书房有多少家\r\n".encode()).question == "城市书房有多少家"
    assert read_line(2, b"  \r\n") is None
    line = read_line(3, '{"question": "城市书房？", "id": [1, "a"], "k": 1.5}'.encode())
    assert line.question == "城市书房？" and line.echoed == {"id": [1, "a"], "k": 1.5} and not line.error
    assert read_line(4, b'{"question": "  "}').field == "question"
    assert read_line(5, b'["question"]').question == '["question"]'  # only an object line is read as JSON
    assert "not a JSON object" in read_line(6, b"{1: 2}").error
    assert "UTF-8" in read_line(7, b"\xff\xfe").error


# ---- spreadsheets --------------------------------------------------------------------------------------------

def _write_csv(path, rows, encoding):
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)


def _write_xlsx(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "来信"
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows():  # text that looks like a formula stays text, as when typed with a ' in Excel
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    workbook.save(path)


def _read(path):
    if path.suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: Excel opens it as UTF-8
        return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    workbook = load_workbook(path, read_only=True)
    rows = [["" if v is None else v for v in row] for row in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _sheet(tmp_path, kind, rows):
    if kind == "xlsx":
        path = tmp_path / "来信.xlsx"
        _write_xlsx(path, rows)
    else:
        path = tmp_path / "来信.csv"
        _write_csv(path, rows, {"csv-utf8-bom": "utf-8-sig", "csv-utf8": "utf-8", "csv-gb18030": "gb18030"}[kind])
    return path


@pytest.mark.parametrize("kind,out_suffix", [("csv-utf8-bom", ".csv"), ("csv-gb18030", ".xlsx"), ("xlsx", ".xlsx"),
                                             ("csv-utf8", ".csv")])
def test_a_spreadsheet_keeps_every_row_and_column_and_gets_the_answers(real_settings, tmp_path, capsys, kind,
                                                                       out_suffix):
    source = _sheet(tmp_path, kind, [HEADER] + ROWS)
    target = tmp_path / f"答复{out_suffix}"
    code = main(_args(real_settings) + ["ask", "--in", str(source), "--out", str(target)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert str(target) in captured.out and "5 rows" in captured.out
    rows = _read(target)
    assert rows[0] == HEADER + ADDED
    assert len(rows) == 1 + len(ROWS)
    assert [r[:3] for r in rows[1:]] == [r[:3] for r in ROWS]  # every input cell, in order
    column = {name: i for i, name in enumerate(rows[0])}
    status = [r[column["状态"]] for r in rows[1:]]
    assert status == [ANSWERED, EMPTY, ANSWERED, OFF_TOPIC, ANSWERED]
    simplified, blank, traditional, off_topic, insurance = rows[1:]
    assert simplified[column["数字"]] == "超110家" and "城市书房超110家" in simplified[column["答复句"]]
    assert traditional[column["数字"]] == "超110家" and "城市書房超110家" in traditional[column["答复句"]]
    assert traditional[column["出处"]].startswith("出處：《溫州聚焦") and traditional[column["章节"]].startswith("樣本八")
    assert simplified[column["出处"]].startswith("出处：《" + HEADLINE) and simplified[column["文章"]] == HEADLINE
    assert "城市书房超110家" in simplified[column["原文段落"]]
    assert insurance[column["数字"]] == "80%" and insurance[column["章节"]].startswith("样本七")
    assert all(cell == "" for cell in blank[:-1]) and off_topic[column["答复句"]] == ""
    # formula-looking cells come out as text, with a ' in front
    assert simplified[3] == "'=HYPERLINK(\"http://x\")" and off_topic[3] == "'@SUM(1)"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_the_question_column_can_be_named(real_settings, tmp_path, capsys):
    source = _sheet(tmp_path, "csv-utf8", [["问题分类", "群众诉求"], ["医保", "大病保险报销比例提高到了多少？"]])
    target = tmp_path / "out.csv"
    assert main(_args(real_settings) + ["ask", "--in", str(source), "--out", str(target), "--column", "群众诉求",
                                        "--progress"]) == 0
    header, row = _read(target)
    assert row[header.index("数字")] == "80%"
    assert "1/1" in capsys.readouterr().err  # the progress bar, asked for where stderr is no terminal


def test_a_title_above_the_header_is_copied_and_the_header_found_below_it(real_settings, tmp_path, capsys):
    title = ["2026年11月 12345热线群众留言问题汇总", "", ""]  # names 留言 and 问题, but is no header
    source = _sheet(tmp_path, "xlsx", [title, ["", "", ""], ["序号", "留言内容", "处理人"], ["1", "托位新增了多少个", "刘"]])
    target = tmp_path / "答复.csv"
    assert main(_args(real_settings) + ["ask", "--in", str(source), "--out", str(target)]) == 0
    assert "header row 3" in capsys.readouterr().out
    rows = _read(target)
    assert rows[0] == title + [""] * len(ADDED) and rows[1] == [""] * (3 + len(ADDED))
    assert rows[2] == ["序号", "留言内容", "处理人"] + ADDED
    assert rows[3][:3] == ["1", "托位新增了多少个", "刘"] and rows[3][-1] == ANSWERED and len(rows) == 4


def test_no_question_column_is_one_message_naming_the_file_and_its_headers(tmp_path, capsys):
    source = _sheet(tmp_path, "xlsx", [["编号", "姓名", "电话"], ["1", "张三", "123"]])
    target = tmp_path / "out.xlsx"
    # the file is checked before anything loads: no index is needed to be told
    code = main(["--set", f"index_dir={tmp_path / 'no-index'}", "ask", "--in", str(source), "--out", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert str(source) in err[0] and "编号、姓名、电话" in err[0] and "--column" in err[0]
    assert not target.exists()
    code = main(["--set", f"index_dir={tmp_path / 'no-index'}", "ask", "--in", str(source), "--out", str(target),
                 "--column", "内容"])
    assert code == 1 and "no column headed '内容'" in capsys.readouterr().err


def test_an_interrupted_run_leaves_no_output_and_says_how_far_it_got(real_settings, tmp_path, capsys, monkeypatch):
    from bot.conversation import Conversation

    source = _sheet(tmp_path, "xlsx", [HEADER] + ROWS)
    target = tmp_path / "答复.xlsx"
    target.write_bytes(b"an earlier answer file")
    asked = []

    def interrupted(self, message, memory):
        asked.append(message)
        if len(asked) == 2:
            raise KeyboardInterrupt
        return original(self, message, memory)

    original = Conversation.respond
    monkeypatch.setattr(Conversation, "respond", interrupted)
    code = main(_args(real_settings) + ["ask", "--in", str(source), "--out", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and len(err) == 1 and "interrupted after 2 of 5 rows" in err[0]
    assert target.read_bytes() == b"an earlier answer file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, target.name])


def test_a_header_that_equals_a_name_wins_over_one_that_contains_one():
    from bot.sheets import find_header

    names = ["问题", "来信内容"]
    assert find_header([["问题分类", "来信内容"]], names, None) == (0, 1)
    assert find_header([["编号", "來信內容（摘要）"]], names, None) == (0, 1)  # Traditional, contained
    assert find_header([["编号", "QUESTION"]], ["question"], None) == (0, 1)


def test_csv_encoding_is_detected_and_trailing_blank_rows_are_not_rows(tmp_path):
    rows = [["来信内容", "备注"], ["城市书房在哪", ""], ["", ""], ["托位多少个", "甲"], ["", ""], ["", ""]]
    for encoding, read_as in (("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8-sig"), ("gb18030", "gb18030")):
        path = tmp_path / f"{encoding}.csv"
        _write_csv(path, rows, encoding)
        sheet = open_sheet(path)
        assert sheet.encoding == read_as and sheet.rows == 4 and sheet.width == 2
        assert list(sheet) == rows[:4]


def test_cells_that_look_like_formulas_are_written_as_text():
    assert [text_cell(c) for c in ["=1+1", "+86 577", "-3", "@x", "\tA", "城市书房", 5, -3, None]] == \
        ["'=1+1", "'+86 577", "'-3", "'@x", "'\tA", "城市书房", 5, -3, None]


def test_question_headers_are_a_setting_and_the_environment_gives_a_list():
    settings = load_settings(environ={"BOT_SHEET_QUESTION_HEADERS": "来电内容，问题 , question"})
    assert settings.sheet_question_headers == ["来电内容", "问题", "question"]
    assert "来信内容" in load_settings(environ={}).sheet_question_headers
    with pytest.raises(ConfigError, match="sheet_question_headers"):
        load_settings(environ={"BOT_SHEET_QUESTION_HEADERS": " , "})


@pytest.mark.slow  # a fresh interpreter loads the model
def test_ctrl_c_in_a_real_run_is_one_line_and_no_file(real_settings, tmp_path):
    import signal
    import subprocess
    import time

    from tests.helpers import ROOT

    source = _sheet(tmp_path, "csv-utf8", [HEADER] + [ROWS[0]] * 3000)
    target = tmp_path / "答复.xlsx"
    process = subprocess.Popen([sys.executable, "-m", "bot", *_args(real_settings), "ask", "--in", str(source),
                                "--out", str(target), "--progress"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline, seen = time.monotonic() + 120, b""
    while max(map(int, re.findall(rb"(\d+)/3000", seen)), default=0) < 10:  # the bar has counted some rows
        assert time.monotonic() < deadline and process.poll() is None, seen.decode()[-500:]
        seen += process.stderr.read1(4096)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    err = (seen + rest).decode()
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error:")]
    assert process.returncode == 130 and len(lines) == 1 and "of 3000 rows" in lines[0], err[-500:]
    assert "Traceback" not in err and not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]
