"""Spreadsheets in and out for `ask --in FILE --out FILE`: rows of cells read and written one at a time.

A CSV file is read as UTF-8 (with or without a byte-order mark) or, when it is not UTF-8, as GB18030 (what Excel
saves in China); it is written as UTF-8 with a byte-order mark, so Excel opens it. An .xlsx workbook is read in
openpyxl's read-only mode and written in its write-only mode, so a long file is streamed, never held whole.
The output goes to a temporary file beside the target and is renamed at the end: an interrupted run never leaves
a half file under the output name. A cell that starts like a formula (= + - @, a tab or carriage return) is
written with a ' in front, so a spreadsheet program shows it as text instead of running it.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol, cast

from .errors import SheetError
from .normalize import fold

Cell = str | int | float | bool | date | datetime | time | timedelta | None
SUFFIXES = (".csv", ".xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_ENCODINGS = ("utf-8-sig", "gb18030")
# characters XML 1.0 cannot carry (openpyxl refuses them): control characters other than tab and line breaks
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _suffix(path: Path, role: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = " (an .xls file: save it as .xlsx in Excel or WPS)" if suffix == ".xls" else ""
        raise SheetError(f"{path}: the {role} file must be .csv or .xlsx, not {suffix or 'a file without suffix'}"
                         f"{hint}")
    return suffix


def _csv_encoding(path: Path) -> str:
    """utf-8-sig when the whole file decodes as UTF-8 (a byte-order mark or not), else gb18030; read in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 16):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _used_width(row: tuple[Cell, ...] | list[Cell]) -> int:
    """Cells up to the last one that holds something (an .xlsx row is padded to the sheet's width)."""
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if not _is_blank(row[i])), 0)


@dataclass(frozen=True)
class SheetReader:
    """An input sheet, measured by one pass before it is answered: ``rows`` counts the rows up to the last one
    that holds something (blank rows after it are not rows anyone wrote), ``width`` the columns in use."""

    path: Path
    rows: int
    width: int
    encoding: str = ""  # a CSV file's
    sheet: str = ""  # an .xlsx workbook's sheet that is read: the active one

    def __iter__(self) -> Iterator[list[Cell]]:
        """Each row padded to ``width`` cells, the first being the header."""
        for number, row in enumerate(_raw_rows(self.path, self.encoding)):
            if number >= self.rows:
                return
            yield list(row[:self.width]) + [None] * (self.width - len(row))


def _raw_rows(path: Path, encoding: str) -> Iterator[tuple[Cell, ...] | list[Cell]]:
    if path.suffix.lower() == ".csv":
        with path.open(encoding=encoding, newline="") as handle:
            yield from csv.reader(handle)
        return
    yield from _xlsx_rows(path)


def _xlsx_rows(path: Path) -> Iterator[tuple[Cell, ...]]:
    """The active sheet's rows as values (a formula's last computed value), streamed."""
    from openpyxl import load_workbook  # only a spreadsheet run needs it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and its own errors for a file that is no workbook
        raise SheetError(f"{path}: not an .xlsx workbook that can be read ({type(exc).__name__}: {exc}); "
                         "save it again as .xlsx or .csv") from None
    try:
        sheet = workbook.active
        if sheet is None:
            raise SheetError(f"{path}: the workbook has no sheet")
        for row in sheet.iter_rows(values_only=True):  # values only (data_only): no formulas, no rich text
            yield cast(tuple[Cell, ...], row)
    finally:
        workbook.close()


def open_sheet(path: Path) -> SheetReader:
    """The input sheet at ``path``, checked and measured; a SheetError names the file when it cannot be read."""
    suffix = _suffix(path, "input")
    if not path.is_file():
        raise SheetError(f"{path}: no such file")
    encoding = _csv_encoding(path) if suffix == ".csv" else ""
    sheet = ""
    rows = width = 0
    try:
        for number, row in enumerate(_raw_rows(path, encoding), start=1):
            used = _used_width(row)
            if used:
                rows, width = number, max(width, used)
    except UnicodeDecodeError as exc:
        raise SheetError(f"{path}: neither UTF-8 nor GB18030 text (byte {exc.start}); save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise SheetError(f"{path}: not a CSV file that can be read ({exc})") from None
    if suffix == ".xlsx":
        sheet = _active_title(path)
    if rows == 0:
        raise SheetError(f"{path}: the file is empty (no header row with a question column)")
    return SheetReader(path, rows, width, encoding, sheet)


def _active_title(path: Path) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        return workbook.active.title if workbook.active is not None else ""
    finally:
        workbook.close()


def question_column(header: list[Cell], names: list[str], given: str = "", contained: bool = False) -> int | None:
    """Where the questions are in the row ``header``: the column headed ``given`` (--column), else by the first
    of ``names`` (the setting sheet_question_headers) that a header equals (``contained``: that a header
    contains); None when none is. Headers are compared folded: Traditional, full-width and case do not matter."""
    folded = [fold(str(cell)) if not _is_blank(cell) else "" for cell in header]
    for name in [fold(given)] if given else [fold(name) for name in names]:
        for column, text in enumerate(folded):
            if name and (name in text if contained else name == text):
                return column
    return None


def find_header(top: list[list[Cell]], names: list[str], path: Path, given: str = "") -> tuple[int, int]:
    """The header row among the sheet's ``top`` rows and its question column: the first row with a header equal
    to a name, else (no --column) one containing a name, in a row of several cells (a title above the header,
    2026年群众留言问题汇总, is one cell and names no column). A SheetError names the file and the headers there
    are when no row has a question column."""
    filled = [sum(not _is_blank(cell) for cell in row) for row in top]
    several = any(count > 1 for count in filled)
    for contained in (False, True) if not given else (False,):
        for number, row in enumerate(top):
            if contained and several and filled[number] < 2:
                continue
            column = question_column(row, names, given, contained)
            if column is not None:
                return number, column
    fullest = top[filled.index(max(filled))] if top else []
    found = "、".join(str(cell).strip() for cell in fullest if not _is_blank(cell)) or "(none: the rows are blank)"
    asked = f"no column headed '{given}'" if given else \
        "no question column (headers tried: " + "、".join(names) + "; or name one with --column)"
    raise SheetError(f"{path}: {asked} in its first {len(top)} row(s); its headers are: {found}")


def text_cell(cell: Cell) -> Cell:
    """``cell`` as written to a sheet: text that starts like a formula gets a ' in front (CSV/Excel injection)."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


class RowWriter(Protocol):
    def write(self, row: list[Cell]) -> None: ...


class _CsvWriter:
    def __init__(self, path: Path) -> None:
        self._handle = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._handle)

    def write(self, row: list[Cell]) -> None:
        self._csv.writerow(["" if cell is None else str(text_cell(cell)) for cell in row])

    def finish(self) -> None:
        self._handle.close()

    def abandon(self) -> None:
        self._handle.close()


class _XlsxWriter:
    def __init__(self, path: Path, title: str) -> None:
        from openpyxl import Workbook

        self._path = path
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet(title or "Sheet1")

    def write(self, row: list[Cell]) -> None:
        self._sheet.append([_NOT_IN_XML.sub("", cell) if isinstance(cell, str) else cell
                            for cell in map(text_cell, row)])

    def finish(self) -> None:
        self._workbook.save(self._path)

    def abandon(self) -> None:
        """End the sheet's XML stream cleanly (openpyxl removes its temporary file at exit)."""
        self._sheet.close()


def check_output(path: Path) -> str:
    """The suffix of an output file that can be written (.csv or .xlsx, in a folder that exists)."""
    suffix = _suffix(path, "output")
    if not path.parent.is_dir():
        raise SheetError(f"{path}: the folder {path.parent} does not exist")
    return suffix


@contextmanager
def sheet_writer(path: Path, title: str = "") -> Iterator[RowWriter]:
    """A writer of rows to ``path`` (.csv or .xlsx by its suffix): written to a temporary file beside it and
    renamed over it only when the block ends without an error; otherwise the temporary file is removed and
    ``path`` is left as it was."""
    suffix = check_output(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        writer: _CsvWriter | _XlsxWriter = _CsvWriter(temporary) if suffix == ".csv" else _XlsxWriter(temporary, title)
    except OSError as exc:
        raise SheetError(f"{path}: cannot write there ({exc.strerror or exc})") from None
    try:
        yield writer
        writer.finish()
        os.replace(temporary, path)
    except BaseException:
        writer.abandon()
        temporary.unlink(missing_ok=True)
        raise
