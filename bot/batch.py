"""Batches of questions, each answered on its own (a batch's rows are separate inquiries, not one chat):
JSON lines for programs (`ask --json`) and spreadsheets for staff (`ask --in FILE --out FILE`).

A line of a batch is a question, or a JSON object with ``question`` and any keys of its own (``id``), which
come back unchanged; a blank line is skipped; a line that cannot be read gets an error object naming the line
(and the field) and the batch goes on. A spreadsheet keeps every input column and row in order and gets the
answer in added columns (``ADDED_HEADERS``), a blank question cell the status 空行.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from .conversation import Response
from .normalize import in_script
from .reply import Answer
from .sheets import Cell, SheetReader, check_output, find_header, open_sheet, sheet_writer

# the columns a spreadsheet gets, in Chinese for the staff who read it
ADDED_HEADERS = ("答复句", "数字", "原文段落", "文章", "章节", "日期", "链接", "出处", "状态")
STATUS_ANSWERED = "已答复"
STATUS_OFF_TOPIC = "未答复：不在文章范围内"
STATUS_NOT_GIVEN = "未答复：原文没有给出这个数字"
STATUS_EMPTY = "空行"
STATUSES = (STATUS_ANSWERED, STATUS_OFF_TOPIC, STATUS_NOT_GIVEN, STATUS_EMPTY)

Respond = Callable[[str], Response]


# ---- JSON lines ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchLine:
    """One line of a batch: its number (blank lines counted), the question as given, the input object's other
    keys (``id`` …) to give back unchanged, or why it cannot be asked (``error``, naming ``field``)."""

    number: int
    question: str
    echoed: dict[str, Any] = field(default_factory=dict)  # any JSON the caller sent: given back as it came
    error: str = ""
    field: str = ""

    def error_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.number}
        if "id" in self.echoed:
            data["id"] = self.echoed["id"]
        if self.field:
            data["field"] = self.field
        data["error"] = self.error
        return data

    def answer_json(self, response: Response) -> dict[str, Any]:
        """The answer's fields after the input object's own keys; ``question`` is the text as given."""
        return {**self.echoed, **response.to_json(), "question": self.question}


def read_line(number: int, raw: bytes) -> BatchLine | None:
    """The batch line ``raw`` (line ``number``), or None for a blank line (skipped). A line that starts with {
    is a JSON object with a ``question``; any other line is the question itself."""
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return BatchLine(number, "", error="not valid UTF-8 text; the line was skipped")
    if not text.strip():
        return None
    if not text.lstrip().startswith("{"):
        return BatchLine(number, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        data, problem = None, f"{exc.msg} at column {exc.colno}"
    else:
        problem = "" if isinstance(data, dict) else "not an object"
    if not isinstance(data, dict):
        return BatchLine(number, "", error=f"starts with {{ but is not a JSON object ({problem}); the line was "
                                           'skipped (an object line is {"id": …, "question": "…"})')
    echoed = {key: value for key, value in data.items() if key != "question"}
    question = data.get("question")
    if "question" not in data:
        return BatchLine(number, "", echoed, "field 'question' is missing; the line was skipped", "question")
    if not isinstance(question, str):
        return BatchLine(number, "", echoed, "field 'question' must be text; the line was skipped", "question")
    if not question.strip():
        return BatchLine(number, "", echoed, "field 'question' is empty; the line was skipped", "question")
    return BatchLine(number, question, echoed)


def read_lines(lines: Iterable[bytes]) -> Iterator[BatchLine]:
    """The batch lines of ``lines`` (stdin's), blank ones left out, numbered as in the input."""
    for number, raw in enumerate(lines, start=1):
        line = read_line(number, raw)
        if line is not None:
            yield line


def answer_lines(respond: Respond, lines: Iterable[BatchLine], out: TextIO, as_json: bool, spaced: bool,
                 err: TextIO) -> None:
    """Each line answered and printed as it comes (a JSON object per line, or the reply, ``spaced`` by a blank
    line); a line that cannot be asked is reported (an error object with --json, else on ``err``)."""
    for line in lines:
        if line.error:
            if as_json:
                print(json.dumps(line.error_json(), ensure_ascii=False), file=out, flush=True)
            else:
                print(f"error: line {line.number}: {line.error}", file=err, flush=True)
            continue
        response = respond(line.question)
        if as_json:
            print(json.dumps(line.answer_json(response), ensure_ascii=False), file=out, flush=True)
        else:
            print(response.text + ("\n" if spaced else ""), file=out, flush=True)


# ---- spreadsheets -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowAnswer:
    """What a spreadsheet row gets in the added columns: the reply's parts, in the asker's script (the passage
    as written), and the status."""

    status: str
    answer: str = ""
    figure: str = ""
    passage: str = ""
    article: str = ""
    section: str = ""
    date: str = ""
    link: str = ""
    citation: str = ""

    def cells(self) -> list[Cell]:
        return [self.answer, self.figure, self.passage, self.article, self.section, self.date, self.link,
                self.citation, self.status]


def _status(answer: Answer) -> str:
    if answer.answered:
        return STATUS_ANSWERED
    return STATUS_OFF_TOPIC if answer.reason == "off_topic" else STATUS_NOT_GIVEN


def _joined(values: Iterable[str], between: str) -> str:
    return between.join(dict.fromkeys(value for value in values if value))


def row_answer(response: Response) -> RowAnswer:
    """The added columns for one question cell; a cell holding several questions gets each one's parts, one
    per line."""
    answers = response.answers
    if not answers:  # small talk (你好, 谢谢): no question about the content
        return RowAnswer(STATUS_OFF_TOPIC)
    def each(part: Callable[[Answer], Iterable[str]], between: str = "\n") -> str:
        return _joined((value for answer in answers for value in part(answer)), between)

    return RowAnswer(
        status=each(lambda a: [_status(a)], "；"),
        answer=each(lambda a: [in_script(a.lead, a.traditional)]),
        figure=each(lambda a: [in_script(a.figure or "", a.traditional)]),
        passage=each(lambda a: [p.text for p in a.shown], "\n\n"),
        article=each(lambda a: [in_script(s.article, a.traditional) for s in a.sources], "、"),
        section=each(lambda a: [in_script(h, a.traditional) for s in a.sources for h in s.sections], "、"),
        date=each(lambda a: [s.date for s in a.sources], "、"),
        link=each(lambda a: [s.link for s in a.sources]),
        citation=each(lambda a: [s.text for s in a.spans if s.kind == "source"]),
    )


@dataclass(frozen=True)
class SheetPlan:
    """A spreadsheet batch checked before anything is loaded: the input, its header row (0: the first) and
    question column, the output."""

    source: SheetReader
    header_row: int
    column: int
    target: Path


def plan_sheet(source: Path, target: Path, header_names: list[str], column: str = "", header_rows: int = 1
               ) -> SheetPlan:
    """Find ``source``'s header row among its first ``header_rows`` and its question column (``column`` by name,
    else one of ``header_names``); check that ``target`` can be written. A SheetError names the file and what is
    wrong."""
    reader = open_sheet(source)
    check_output(target)
    top = list(islice(reader, header_rows))
    header_row, question = find_header(top, header_names, source, column)
    return SheetPlan(reader, header_row, question, target)


@dataclass
class SheetRun:
    """A spreadsheet batch under way: rows done so far (an interrupted run says how far it got) and each
    status's count."""

    plan: SheetPlan
    done: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Rows below the header."""
        return self.plan.source.rows - self.plan.header_row - 1

    def run(self, respond: Respond, progress: bool = False) -> None:
        """Read a row, answer it, write it, until the last; the output appears under its name only at the end."""
        from tqdm import tqdm  # a dependency of sentence-transformers

        started = time.perf_counter()
        plan, reader = self.plan, self.plan.source
        rows = iter(reader)
        with sheet_writer(plan.target, reader.sheet) as writer, \
                tqdm(total=self.total, unit="row", file=sys.stderr, disable=not progress,
                     desc=plan.source.path.name) as bar:
            for above in islice(rows, plan.header_row):  # a title above the header: copied as it is
                writer.write(above + [None] * len(ADDED_HEADERS))
            writer.write(next(rows) + list(ADDED_HEADERS))
            for row in rows:
                cell = row[plan.column]
                question = "" if cell is None else str(cell)
                added = row_answer(respond(question)) if question.strip() else RowAnswer(STATUS_EMPTY)
                writer.write(row + added.cells())
                for status in added.status.split("；"):
                    self.counts[status] += 1
                self.done += 1
                bar.update()
        self.seconds = time.perf_counter() - started

    def summary(self) -> str:
        rate = self.done / self.seconds if self.seconds else 0.0
        counts = ", ".join(f"{status} {self.counts[status]}" for status in STATUSES if self.counts[status])
        return (f"wrote {self.plan.target}: {self.done} rows ({counts or 'none'}), header row "
                f"{self.plan.header_row + 1}, question column {self.plan.column + 1}, {self.seconds:.1f} s "
                f"({rate:.1f} rows/s)")
