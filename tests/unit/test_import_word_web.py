"""The byline from the document itself: Word files and web pages in several layouts (byline on one line or
two, dates as 2024年5月6日 / 2024-05-06 / 2024.5.6, headings as styles or bold paragraphs); file properties
and meta tags only where the document prints nothing, and tool names never as authors."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import docx
import pytest
import yaml

from bot.cli import main
from bot.knowledge import load_knowledge

SECTIONS = [("一、加装电梯", ["全市新加装电梯420台,财政对每台电梯补助20万元。", "审批时限压缩到15个工作日。"]),
            ("二、管网更新", ["更新雨污管网86公里,解决了32个小区的积水问题。"]),
            ("三、社区服务", ["新建社区养老服务站18个,覆盖居民12万人。"])]
HEADLINE = "老旧小区改造惠及三万户居民"
LEAD = "今年以来,全市开工改造老旧小区126个,惠及居民3.2万户,完成投资18.6亿元。"


def imported(tmp_path: Path, source: Path) -> tuple[dict, list[dict]]:
    out = io.StringIO()
    code = main(["--set", f"knowledge_dir={tmp_path / 'knowledge'}", "import", str(source)], out=out)
    assert code == 0, out.getvalue()
    folder = tmp_path / "knowledge" / source.stem
    sections = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))
                if p.name != "article.yaml"]
    load_knowledge(tmp_path / "knowledge")
    return yaml.safe_load((folder / "article.yaml").read_text(encoding="utf-8")), sections


def word_file(path: Path, byline: list[str], author: str | None = "Administrator", bold_headings: bool = False,
              created: datetime.datetime | None = datetime.datetime(2009, 1, 1),
              sections: list[tuple[str, list[str]]] = SECTIONS) -> Path:
    document = docx.Document()
    if author is not None:
        document.core_properties.author = author
    if created is not None:
        document.core_properties.created = created
    document.add_paragraph(HEADLINE, style="Title")
    for line in byline:
        document.add_paragraph(line)
    document.add_paragraph(LEAD)
    for heading, paragraphs in sections:
        if bold_headings:
            document.add_paragraph().add_run(heading).bold = True
        else:
            document.add_heading(heading, level=1)
        for text in paragraphs:
            document.add_paragraph(text)
    document.save(path)
    return path


def assert_sections(sections: list[dict], expected: list[tuple[str, list[str]]] = SECTIONS) -> None:
    assert [s["title"] for s in sections] == [HEADLINE] + [h for h, _ in expected]
    assert [s["paragraphs"] for s in sections] == [[LEAD]] + [p for _, p in expected]


@pytest.mark.parametrize("byline, authors, date", [
    (["记者 陈思远 李晓梅", "发布时间：2024年5月6日"], ["陈思远", "李晓梅"], "2024-05-06"),
    (["记者 陈思远 李晓梅　发布时间：2024年5月6日"], ["陈思远", "李晓梅"], "2024-05-06"),
    (["作者：陈思远 李晓梅", "日期：2024-05-06"], ["陈思远", "李晓梅"], "2024-05-06"),
    (["文/陈思远", "2024.5.6"], ["陈思远"], "2024-05-06"),
    (["来源：市住建局　作者：陈思远　发布日期：2024.5.6"], ["陈思远"], "2024-05-06"),
], ids=["two-lines", "one-line", "labelled", "wen-slash", "source-line"])
def test_the_printed_byline_beats_the_file_properties(tmp_path, byline, authors, date):
    head, sections = imported(tmp_path, word_file(tmp_path / "gaizao.docx", byline))
    assert head["authors"] == authors and head["date"] == date
    assert_sections(sections)


@pytest.mark.parametrize("bold", [False, True], ids=["heading-styles", "bold-paragraphs"])
@pytest.mark.parametrize("numbered", [True, False], ids=["numbered", "unnumbered"])
def test_headings_as_styles_or_bold_paragraphs(tmp_path, bold, numbered):
    expected = SECTIONS if numbered else [(h.split("、")[1], p) for h, p in SECTIONS]  # 加装电梯: found by its type
    path = word_file(tmp_path / "gaizao.docx", ["记者 陈思远"], bold_headings=bold, sections=expected)
    _, sections = imported(tmp_path, path)
    assert_sections(sections, expected)


def test_properties_are_a_fallback_and_tool_names_are_never_authors(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    head, _ = imported(tmp_path / "a", word_file(tmp_path / "a" / "zhaomin.docx", [], author="赵敏",
                                                 created=datetime.datetime(2024, 3, 1)))
    assert head["authors"] == ["赵敏"] and head["date"] == "2024-03-01"
    for name in ("Administrator", "Microsoft Office User"):
        head, _ = imported(tmp_path / "b", word_file(tmp_path / "b" / "admin.docx", [], author=name))
        assert head["authors"] == []
    head, _ = imported(tmp_path / "c", word_file(tmp_path / "c" / "plain.docx", [], author=None, created=None))
    assert head["authors"] == [] and "date" not in head  # python-docx's own template: author python-docx, 2013


# ---- web pages ------------------------------------------------------------------------------------------

def page(info_line: str, meta: str = "", extras: bool = True) -> str:
    """A government page; ``extras`` adds a <noscript> notice, an iframe and an image with onerror."""
    noise = ('<noscript><p>您的浏览器未启用JavaScript，请启用后浏览本站。</p></noscript>'
             '<iframe src="https://video.example.com/embed/1"></iframe>') if extras else ""
    image = '<img src="lift.jpg" onerror="this.src=\'default.jpg\'">' if extras else ""
    body = "".join(f"<h2>{h}</h2>" + "".join(f"<p>{p}</p>" for p in ps) for h, ps in SECTIONS)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{HEADLINE}_某市住建局</title>'
            f'{meta}<script>var x = 1;</script></head><body>{noise}'
            '<div class="nav"><a href="/">首页</a> | <a href="/zwgk">政务公开</a></div>'
            f'<div class="article"><h1>{HEADLINE}</h1>{info_line}{image}<p>{LEAD}</p>{body}</div>'
            '<div class="footer">版权所有：某市人民政府　备案号：浙ICP备12345678号</div></body></html>')


META = ('<meta name="author" content="陈思远 李晓梅">'
        '<meta property="article:published_time" content="2024-05-06T08:30:00+08:00">'
        '<meta property="og:site_name" content="某市住房和城乡建设局">'
        '<meta property="og:url" content="https://zjj.example.gov.cn/art/2024/5/6/art_1.html">')


@pytest.mark.parametrize("date_text", ["2024年5月6日", "2024-05-06", "2024.5.6"])
def test_a_page_with_noscript_iframe_and_onerror_keeps_its_structure(tmp_path, date_text):
    line = f'<div class="info">来源：某市住建局　作者：陈思远 李晓梅　发布时间：{date_text}</div>'
    path = tmp_path / "gaizao.html"
    path.write_text(page(line, META), encoding="utf-8")
    head, sections = imported(tmp_path, path)
    assert head["headline"] == HEADLINE and head["authors"] == ["陈思远", "李晓梅"]
    assert head["date"] == "2024-05-06" and head["source"] == "某市住建局"
    assert head["url"] == "https://zjj.example.gov.cn/art/2024/5/6/art_1.html"
    assert_sections(sections)
    assert "JavaScript" not in (tmp_path / "knowledge" / "gaizao" / "00.yaml").read_text(encoding="utf-8")


def test_meta_tags_when_the_page_prints_no_byline(tmp_path):
    path = tmp_path / "meta.html"
    path.write_text(page("", META.replace("og:url", "og:ignored") +
                         '<link rel="canonical" href="https://zjj.example.gov.cn/a.html">'), encoding="utf-8")
    head, sections = imported(tmp_path, path)
    assert head["authors"] == ["陈思远", "李晓梅"] and head["date"] == "2024-05-06"
    assert head["source"] == "某市住房和城乡建设局" and head["url"] == "https://zjj.example.gov.cn/a.html"
    assert_sections(sections)


def test_the_printed_line_beats_placeholder_meta_tags(tmp_path):
    path = tmp_path / "admin.html"
    path.write_text(page('<p class="info">作者：陈思远　发布时间：2024-05-06</p>',
                         '<meta name="author" content="Administrator"><meta name="PubDate" content="2023-01-01">',
                         extras=False), encoding="utf-8")
    head, _ = imported(tmp_path, path)
    assert head["authors"] == ["陈思远"] and head["date"] == "2024-05-06"
