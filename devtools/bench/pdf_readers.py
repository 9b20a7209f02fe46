"""Which PDF library reads Chinese policy PDFs best: the measurement behind the choice in docs/content.md.

    pip install --target /tmp/pdfcand pdfminer.six pdfplumber pypdf pypdfium2 reportlab
    PYTHONPATH=/tmp/pdfcand python -m devtools.bench.pdf_readers

Each candidate's own plain-text extraction is run on PDFs made with reportlab's CID font STSong-Light (the
text has no embedded font and no ToUnicode map: only the predefined CMap UniGB-UCS2-H says which character
each glyph is, as in many government PDFs): a one-column file, a two-column file whose lines are drawn row
by row across the columns (so reading order differs from drawing order), and a 100-page file for time and
peak memory (each in a subprocess of its own). Candidates that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from ..documents import PdfArticle, PdfLayout, article_from_knowledge, write_pdf
from .importing import PDF_CHARS
from .measure import run_measured

CANDIDATES = ("pdfminer.six", "pdfplumber", "pypdf", "pypdfium2")
HEADER = "某市人民政府公报"
_PAGE_NUMBER = re.compile(r"^-\s*\d+\s*-$")


def extract(library: str, path: Path) -> list[str]:
    """Each page's text as the library's plain extraction gives it."""
    if library == "pdfminer.six":
        from pdfminer.high_level import extract_text

        return extract_text(str(path)).split("\f")
    if library == "pdfplumber":
        import pdfplumber

        with pdfplumber.open(str(path)) as pdf:
            return [page.extract_text() or "" for page in pdf.pages]
    if library == "pypdf":
        from pypdf import PdfReader

        return [page.extract_text() for page in PdfReader(str(path)).pages]
    if library == "pypdfium2":
        import pypdfium2

        document = pypdfium2.PdfDocument(str(path))
        try:
            return [document[i].get_textpage().get_text_range() for i in range(len(document))]
        finally:
            document.close()
    raise ValueError(library)


def _body(pages: list[str]) -> str:
    """The pages' text without whitespace, running header and page numbers (what is compared)."""
    lines = [line.strip() for page in pages for line in page.splitlines()]
    return "".join(re.sub(r"\s+", "", line) for line in lines if line and line != HEADER
                   and not _PAGE_NUMBER.match(line))


def _expected(article: PdfArticle) -> str:
    parts = [article.headline, *article.byline, *article.lead]
    for heading, paragraphs in article.sections:
        parts += [heading, *paragraphs]
    return re.sub(r"\s+", "", "".join(parts))


def _installed(library: str) -> bool:
    from importlib.util import find_spec

    return find_spec({"pdfminer.six": "pdfminer"}.get(library, library)) is not None


def compare(knowledge_dir: Path, work: Path) -> dict[str, dict[str, object]]:
    article = article_from_knowledge(knowledge_dir)
    expected = _expected(article)
    one = write_pdf(work / "one-column.pdf", article, PdfLayout(running_header=HEADER))
    two = write_pdf(work / "two-columns.pdf", article, PdfLayout(columns=2, rows_first=True, running_header=HEADER))
    big_article = article_from_knowledge(knowledge_dir, min_chars=PDF_CHARS)
    big = write_pdf(work / "hundred-pages.pdf", big_article, PdfLayout(running_header=HEADER))
    results: dict[str, dict[str, object]] = {}
    for library in CANDIDATES:
        if not _installed(library):
            results[library] = {"skipped": "not installed"}
            continue
        row: dict[str, object] = {}
        for name, path in (("one_column", one), ("two_columns", two)):
            got = _body(extract(library, path))
            row[f"{name}_chars_right"] = round(sum((Counter(got) & Counter(expected)).values()) / len(expected), 3)
            row[f"{name}_order"] = round(difflib.SequenceMatcher(None, got, expected, autojunk=False).ratio(), 3)
        code = f"from devtools.bench.pdf_readers import extract; from pathlib import Path; " \
               f"print(sum(map(len, extract({library!r}, Path({str(big)!r})))))"
        baseline = run_measured([sys.executable, "-c", f"import devtools.bench.pdf_readers; "
                                 f"import {'pdfminer' if library == 'pdfminer.six' else library}"])
        timed = [run_measured([sys.executable, "-c", code]) for _ in range(3)]
        seconds = sorted(t["seconds"] for t in timed)[1]
        row["pages_100_seconds"] = round(seconds, 2)
        row["pages_100_peak_mb"] = max(t["maxrss_mb"] for t in timed)
        row["import_only_peak_mb"] = baseline["maxrss_mb"]
        row["pages_100_chars"] = int(timed[0]["stdout"].strip() or 0)
        results[library] = row
    results["_expected"] = {"chars": len(expected), "big_chars": len(_expected(big_article))}
    return results


def main() -> int:
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    top.add_argument("--knowledge", default="knowledge", help="articles to set as PDF (default: knowledge)")
    top.add_argument("--json", action="store_true", help="print the results as JSON")
    args = top.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdf-readers-") as work:
        results = compare(Path(args.knowledge), Path(work))
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return 0
    print("| library | 1 col: chars right | 1 col: order | 2 cols: chars right | 2 cols: order | 99 pages: s "
          "(median of 3) | peak RSS MB on 99 pages (importing the library alone) |\n|---|---|---|---|---|---|---|")
    for library in CANDIDATES:
        row = results[library]
        if "skipped" in row:
            print(f"| {library} | skipped: {row['skipped']} |||||")
            continue
        print(f"| {library} | {row['one_column_chars_right']} | {row['one_column_order']} | "
              f"{row['two_columns_chars_right']} | {row['two_columns_order']} | {row['pages_100_seconds']} | "
              f"{row['pages_100_peak_mb']} ({row['import_only_peak_mb']}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
