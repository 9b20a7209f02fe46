"""`python -m bot import FILE.pdf`: Chinese PDFs made here with reportlab's CID font STSong-Light (no text
embedded as Unicode: the predefined CMap decodes it), in the layouts policy texts come in."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.knowledge import load_knowledge
from devtools.documents import PdfArticle, PdfLayout, chinese_number, wrapped, write_pdf
from tests.helpers import KNOWLEDGE

HEADER = "某市人民政府公报"


def policy_article(byline: list[str], lead: str = "") -> PdfArticle:
    """A three-page article: the Wenzhou samples as numbered sections (real wording, real figures)."""
    samples = [s for s in load_knowledge(KNOWLEDGE).sections if s.label.startswith("样本")]
    sections = [(f"{chinese_number(n)}、{s.title}", list(s.paragraphs)) for n, s in enumerate(samples, 1)]
    return PdfArticle(headline="温州推进共同富裕十项实践", byline=byline,
                      lead=[lead or "以缩小区域差距、城乡差距、收入差距为主攻方向,温州打造了一批实践样本。"],
                      sections=sections)


def imported(tmp_path: Path, pdf: Path) -> tuple[dict, list[dict], str]:
    out = io.StringIO()
    code = main(["--set", f"knowledge_dir={tmp_path / 'knowledge'}", "import", str(pdf)], out=out)
    assert code == 0, out.getvalue()
    folder = tmp_path / "knowledge" / pdf.stem
    files = sorted(folder.glob("*.yaml"))
    sections = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in files if p.name != "article.yaml"]
    everything = "".join(p.read_text(encoding="utf-8") for p in files)
    load_knowledge(tmp_path / "knowledge")  # what the importer writes is valid content
    return yaml.safe_load((folder / "article.yaml").read_text(encoding="utf-8")), sections, everything


@pytest.mark.parametrize("layout", [
    PdfLayout(running_header=HEADER),
    PdfLayout(columns=2, running_header=HEADER, rows_first=True),  # drawn row by row across the columns
    PdfLayout(heading_size=11.0, running_header=HEADER),  # headings in body type: found by their numbering
    PdfLayout(columns=2, heading_size=11.0, rows_first=True),
], ids=["one-column", "two-columns", "plain-headings", "two-columns-plain-headings"])
def test_sections_in_reading_order_without_headers_and_page_numbers(tmp_path, layout):
    article = policy_article(["记者 陈思远 李晓梅", "发布时间：2024年5月6日"])
    pdf = write_pdf(tmp_path / "policy.pdf", article, layout)
    head, sections, everything = imported(tmp_path, pdf)
    assert head["headline"] == article.headline
    assert head["authors"] == ["陈思远", "李晓梅"] and head["date"] == "2024-05-06"
    assert [s["title"] for s in sections] == [article.headline] + [h for h, _ in article.sections]
    assert [s["paragraphs"] for s in sections] == [article.lead] + [p for _, p in article.sections]
    assert HEADER not in everything and "- 2 -" not in everything and "- 3 -" not in everything


def test_a_figure_broken_over_two_lines_is_joined(tmp_path):
    width = 595.0 - 2 * 72.0
    for fill in range(10, 45):  # a lead whose first line break falls inside 1.6万
        lead = "为" * fill + "今年全市节水量达到1.6万吨,比去年增长12.5%。"
        lines = wrapped(lead, width, 11.0, 22.0)
        if lines[0].endswith(("1", "1.")):
            break
    else:
        pytest.fail("no fill puts the line break inside the figure")
    pdf = write_pdf(tmp_path / "figure.pdf", policy_article(["记者 陈思远"], lead=lead))
    _, sections, _ = imported(tmp_path, pdf)
    assert sections[0]["paragraphs"] == [lead]


@pytest.mark.parametrize("byline, authors, date", [
    (["记者 陈思远 李晓梅　发布时间：2024年5月6日"], ["陈思远", "李晓梅"], "2024-05-06"),
    (["文/陈思远", "2024.5.6"], ["陈思远"], "2024-05-06"),
    (["来源：市水利局　作者：陈思远 李晓梅", "发布日期：2024-05-06"], ["陈思远", "李晓梅"], "2024-05-06"),
])
def test_printed_bylines_in_several_layouts(tmp_path, byline, authors, date):
    pdf = write_pdf(tmp_path / "byline.pdf", policy_article(byline))
    head, sections, _ = imported(tmp_path, pdf)
    assert head["authors"] == authors and head["date"] == date
    assert not any("陈思远" in p for s in sections for p in s["paragraphs"])


def test_properties_are_a_fallback_and_placeholders_are_no_authors(tmp_path):
    article = policy_article([])
    pdf = write_pdf(tmp_path / "props.pdf", article, PdfLayout(author_property="赵敏"))
    assert imported(tmp_path, pdf)[0]["authors"] == ["赵敏"]
    pdf = write_pdf(tmp_path / "admin.pdf", article, PdfLayout(author_property="Administrator"))
    assert imported(tmp_path, pdf)[0]["authors"] == []
    article.byline = ["记者 陈思远"]
    pdf = write_pdf(tmp_path / "both.pdf", article, PdfLayout(author_property="赵敏"))
    assert imported(tmp_path, pdf)[0]["authors"] == ["陈思远"]


def test_a_scan_without_text_is_one_clear_line(tmp_path, capsys):
    pdf = write_pdf(tmp_path / "scan.pdf", policy_article(["记者 陈思远"]), PdfLayout(scanned=True))
    code = main(["--set", f"knowledge_dir={tmp_path / 'knowledge'}", "import", str(pdf)], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "scan.pdf" in err and "no text layer" in err and "OCR" in err
    assert not (tmp_path / "knowledge").exists()
