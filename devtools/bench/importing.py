"""The bench's ``import`` part: `python -m bot import --dry-run` of large files, each in a fresh process (wall
time and the child's peak RSS, median of the rounds): a 100-page Chinese PDF, a 100,000-paragraph Word file,
a 4.5 MB web page (under the size limit) and a 50 MB one (refused by it), and the start-up alone (a
missing file) to set them against."""

from __future__ import annotations

import statistics
import sys
import zipfile
from pathlib import Path
from typing import Any

from ..documents import PdfLayout, article_from_knowledge, write_pdf
from .measure import Bench, run_measured

PDF_CHARS = 120_000  # about 100 pages of single-column A4 in 11-point type
DOCX_PARAGRAPHS = 100_000
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PACKAGE = {  # the least a Word package needs: its parts list, the package relationship, the document
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                           'package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="'
                           'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                           '</Types>',
    "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/'
                   '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
}


def long_docx(path: Path, paragraphs: int) -> Path:
    """A Word file of a headline and ``paragraphs`` body paragraphs, written as XML (python-docx takes
    minutes to add this many)."""
    body = "".join(f"<w:p><w:r><w:t>第{n}段：全市新建社区食堂42家，累计为老年人提供助餐服务56万人次。</w:t></w:r></w:p>"
                   for n in range(paragraphs))
    document = (f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>社区食堂建设情况通报</w:t>'
                f"</w:r></w:p>{body}</w:body></w:document>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in {**_PACKAGE, "word/document.xml": document}.items():
            package.writestr(name, text)
    return path


def long_page(path: Path, megabytes: float) -> Path:
    paragraph = "<p>今年以来，全市新建社区食堂42家，累计为老年人提供助餐服务56万人次，老年人就餐满意度达到95%。</p>\n"
    count = int(megabytes * 2**20 / len(paragraph.encode()))
    path.write_text(f"<html><head><meta charset='utf-8'><title>社区食堂</title></head><body><h1>社区食堂</h1>"
                    f"{paragraph * count}</body></html>", encoding="utf-8")
    return path


def part_import(bench: Bench) -> dict[str, Any]:
    work = bench.work / "import"
    work.mkdir(parents=True, exist_ok=True)
    from pypdf import PdfReader

    article = article_from_knowledge(bench.settings.path("knowledge_dir"), min_chars=PDF_CHARS)
    pdf = write_pdf(work / "hundred-pages.pdf", article, PdfLayout(running_header="某市人民政府公报"))

    files = {"pdf_100_pages": pdf, "docx_100000_paragraphs": long_docx(work / "long.docx", DOCX_PARAGRAPHS),
             "html_4_5_mb": long_page(work / "page.html", 4.5),
             "html_50_mb_refused": long_page(work / "page50.html", 50), "start_up_only": work / "missing.txt"}
    results: dict[str, Any] = {"pdf_pages": len(PdfReader(pdf).pages)}
    for name, path in files.items():
        bench.log(f"import {name} …")
        runs = [run_measured([sys.executable, "-m", "bot", *bench.settings_flags({}), "--set",
                              f"knowledge_dir={work / 'knowledge'}", "import", "--dry-run", str(path)])
                for _ in range(max(1, min(bench.options.rounds, 3)))]
        said = (runs[0]["stdout"] or runs[0]["stderr"]).splitlines()
        results[name] = {"seconds": round(statistics.median(r["seconds"] for r in runs), 2),
                         "peak_rss_mb": max(r["maxrss_mb"] for r in runs),
                         "file_mb": round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0,
                         "exit_code": runs[0]["returncode"],
                         "said": said[0][:200] if said else ""}
    return results
