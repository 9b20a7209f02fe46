"""`python -m bot import`: article files of every format → reviewed-format article folders."""

import shutil
from pathlib import Path

import docx
import pytest
import yaml

from bot.cli import main
from bot.errors import ArticleImportError, ReadError
from bot.importer import apply_import, plan_import
from bot.knowledge import ARTICLE_FILE, PINS_FILE, load_knowledge
from bot.readers import author_names, normalized_date
from tests.helpers import FIXTURES, KNOWLEDGE

SEED_TEXT = FIXTURES / "wenzhou_ten_samples.txt"
SECOND_TEXT = FIXTURES / "water_saving_city.txt"

GOV_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>社区食堂三项举措惠及老年人_市民政局</title>
<meta name="author" content="王丽 陈刚">
</head><body>
<div class="header"><a href="/">首页</a> | <a href="/zwgk">政务公开</a> | <a href="/bsfw">办事服务</a></div>
<nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li></ul></nav>
<div class="crumb">当前位置：首页 &gt; 新闻中心 &gt; 部门动态</div>
<div class="article">
<h1>社区食堂三项举措惠及老年人</h1>
<p class="info">来源：市民政局　发布时间：2023-05-12　作者：王丽 陈刚</p>
<p>今年以来，全市新建社区食堂42家，累计为老年人提供助餐服务56万人次，老年人就餐满意度达到95%。</p>
<h2>一、扩大助餐网点覆盖</h2>
<p>市民政局按照“十五分钟助餐圈”要求，在老旧小区和农村集聚区布点，全市助餐网点达到310个，覆盖率提高到85%。</p>
<figure><img src="a.jpg"><figcaption>城东社区食堂里就餐的老人</figcaption></figure>
<p>记者 李明 摄</p>
<h2>二、落实分档就餐补贴</h2>
<p>80周岁以上老人每餐补贴3元，低保、特困老人每餐补贴5元，全年发放补贴资金1200万元。</p>
<h2>三、强化食品安全监管</h2>
<p>各社区食堂全部接入“阳光厨房”监管平台，食品安全抽检合格率保持100%。</p>
</div>
<div class="share">分享到：微信 微博</div>
<div class="footer"><p>版权所有：某市人民政府办公室　主办单位：某市人民政府</p>
<p>备案号：浙ICP备12345678号　网站标识码：3303000001</p></div>
</body></html>
"""


def sections_of(folder: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.yaml")) if p.name not in (ARTICLE_FILE, PINS_FILE)]


def article_of(folder: Path) -> dict:
    return yaml.safe_load((folder / "article.yaml").read_text(encoding="utf-8"))


def import_into(knowledge: Path, *files: Path, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    import io

    out = io.StringIO()
    code = main(["--set", f"knowledge_dir={knowledge}", "import", *map(str, files), *extra], out=out)
    return code, out.getvalue()


def test_seed_text_gives_the_hand_transcription(tmp_path):
    code, out = import_into(tmp_path, SEED_TEXT)
    assert code == 0 and "wrote" in out
    imported = sections_of(tmp_path / "wenzhou-ten-samples")
    reviewed = sections_of(KNOWLEDGE / "wenzhou-ten-samples")
    assert len(imported) == len(reviewed) == 11
    for mine, theirs in zip(imported, reviewed):
        for key in ("label", "title", "area", "paragraphs", "captions"):
            assert mine.get(key) == theirs.get(key) or (key == "captions" and not mine.get(key) and not theirs.get(key)), \
                (theirs["id"], key, mine.get(key), theirs.get(key))
    head, reviewed_head = article_of(tmp_path / "wenzhou-ten-samples"), article_of(KNOWLEDGE / "wenzhou-ten-samples")
    for key in ("headline", "authors", "photo_credit", "imported_from"):
        assert head[key] == reviewed_head[key]


def test_second_article_is_its_import(tmp_path):
    import_into(tmp_path, SECOND_TEXT)
    for name in ("article.yaml", "00.yaml", "01.yaml", "02.yaml", "03.yaml"):
        assert (tmp_path / "water-saving-city" / name).read_text(encoding="utf-8") == \
            (KNOWLEDGE / "water-saving-city" / name).read_text(encoding="utf-8")


def test_dry_run_writes_nothing_and_reimport_is_idempotent(tmp_path):
    code, out = import_into(tmp_path, SECOND_TEXT, extra=("--dry-run",))
    assert code == 0 and "new       01.yaml  一、阶梯水价引导居民节约用水: 2 paragraph(s)" in out
    assert not (tmp_path / "water-saving-city").exists()
    import_into(tmp_path, SECOND_TEXT)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "water-saving-city").iterdir()}
    code, out = import_into(tmp_path, SECOND_TEXT)
    assert code == 0 and "unchanged: nothing written" in out
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "water-saving-city").iterdir()} == before


def test_an_updated_article_needs_replace_and_loses_stale_sections(tmp_path, capsys):
    import_into(tmp_path, SECOND_TEXT)
    updated = tmp_path / "src" / "water_saving_city.txt"
    updated.parent.mkdir()
    text = SECOND_TEXT.read_text(encoding="utf-8")
    updated.write_text(text[:text.index("三、再生水")].replace("365公里", "380公里"), encoding="utf-8")
    code, _ = import_into(tmp_path, updated)
    assert code == 1 and "--replace" in capsys.readouterr().err
    assert "365公里" in (tmp_path / "water-saving-city" / "02.yaml").read_text(encoding="utf-8")
    (tmp_path / "water-saving-city" / "notes.txt").write_text("校对：王编辑", encoding="utf-8")  # an editor's file
    code, out = import_into(tmp_path, updated, extra=("--replace",))
    assert code == 0 and "changed   02.yaml" in out and "removed   03.yaml" in out
    assert "380公里" in (tmp_path / "water-saving-city" / "02.yaml").read_text(encoding="utf-8")
    assert not (tmp_path / "water-saving-city" / "03.yaml").exists()
    assert (tmp_path / "water-saving-city" / "notes.txt").read_text(encoding="utf-8") == "校对：王编辑"


def test_id_clash_is_refused(tmp_path, capsys):
    shutil.copytree(KNOWLEDGE / "water-saving-city", tmp_path / "hand-made")
    code, _ = import_into(tmp_path, SECOND_TEXT)
    err = capsys.readouterr().err
    assert code == 1 and "'water-saving-city-1' (in hand-made/01.yaml)" in err
    assert "already used by another article" in err and "--id-prefix" in err
    assert not (tmp_path / "water-saving-city").exists()
    code, _ = import_into(tmp_path, SECOND_TEXT, extra=("--id-prefix", "water"))
    assert code == 0 and sections_of(tmp_path / "water-saving-city")[1]["id"] == "water-1"


def test_word_document(tmp_path):
    document = docx.Document()
    document.core_properties.author = "赵敏"
    document.add_paragraph("乡村客运公交化改造全面完成", style="Title")
    document.add_paragraph("全县建制村通公交率达到100%,群众出行更方便、更便宜。")
    document.add_heading("第一章 线路调整", level=1)
    document.add_paragraph("县交通运输局新开和延伸农村公交线路26条,新增站点180个。")
    document.add_paragraph("换乘枢纽启用后的候车大厅", style="Caption")
    document.add_heading("第二章 票价优惠", level=1)
    document.add_paragraph("农村公交实行2元一票制,70周岁以上老人免费乘车。")
    document.add_paragraph("版权所有 某县人民政府 备案号：浙ICP备000001号")
    path = tmp_path / "src" / "乡村公交.docx"
    path.parent.mkdir()
    document.save(path)
    code, out = import_into(tmp_path / "knowledge", path)
    assert code == 0, out
    folder = tmp_path / "knowledge" / "xiang-cun-gong-jiao"
    head, sections = article_of(folder), sections_of(folder)
    assert head["headline"] == "乡村客运公交化改造全面完成" and head["authors"] == ["赵敏"]
    assert [(s.get("label"), s["title"]) for s in sections] == [
        ("导语", "乡村客运公交化改造全面完成"), ("第一章", "线路调整"), ("第二章", "票价优惠")]
    assert sections[1]["captions"] == [{"text": "换乘枢纽启用后的候车大厅"}]
    assert not any("版权所有" in p for s in sections for p in s["paragraphs"])
    load_knowledge(tmp_path / "knowledge")  # what the importer writes is valid content


def test_government_web_page_without_its_clutter(tmp_path):
    page = tmp_path / "src" / "shitang.html"
    page.parent.mkdir()
    page.write_text(GOV_PAGE, encoding="utf-8")
    code, out = import_into(tmp_path / "knowledge", page)
    assert code == 0, out
    folder = tmp_path / "knowledge" / "shitang"
    head, sections = article_of(folder), sections_of(folder)
    assert head["headline"] == "社区食堂三项举措惠及老年人"
    assert head["authors"] == ["王丽", "陈刚"] and head["date"] == "2023-05-12" and head["source"] == "市民政局"
    assert [s["title"] for s in sections] == ["社区食堂三项举措惠及老年人", "一、扩大助餐网点覆盖",
                                              "二、落实分档就餐补贴", "三、强化食品安全监管"]
    assert sections[1]["captions"] == [{"text": "城东社区食堂里就餐的老人", "credit": "记者 李明 摄"}]
    everything = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    for clutter in ("版权所有", "备案号", "ICP", "首页", "当前位置", "分享到", "政务公开"):
        assert clutter not in everything
    assert sections[0]["paragraphs"] == ["今年以来，全市新建社区食堂42家，累计为老年人提供助餐服务56万人次，"
                                         "老年人就餐满意度达到95%。"]


def test_web_page_in_gbk(tmp_path):
    page = tmp_path / "gbk.html"
    page.write_bytes(GOV_PAGE.replace('charset="utf-8"', 'charset="gbk"').encode("gbk"))
    assert import_into(tmp_path / "knowledge", page)[0] == 0
    assert article_of(tmp_path / "knowledge" / "gbk")["headline"] == "社区食堂三项举措惠及老年人"


def test_a_file_where_the_article_folder_should_be(tmp_path, capsys):
    (tmp_path / "water-saving-city").write_text("x", encoding="utf-8")
    code, _ = import_into(tmp_path, SECOND_TEXT)
    err = capsys.readouterr().err
    assert code == 1 and "water-saving-city: cannot write the article" in err and "Traceback" not in err


def test_markdown_with_numbered_sub_headings(tmp_path):
    page = tmp_path / "notice.md"
    page.write_text("# 老旧小区加装电梯提速\n\n记者 孙悦\n\n今年全市计划加装电梯500台。\n\n"
                    "## （一）简化审批\n\n审批时限压缩到\n15个工作日。\n\n"
                    "![](lift.jpg) 新装的电梯\n\n## （二）资金补助\n\n每台电梯补助**20万元**。\n", encoding="utf-8")
    code, out = import_into(tmp_path / "knowledge", page)
    assert code == 0, out
    sections = sections_of(tmp_path / "knowledge" / "notice")
    assert article_of(tmp_path / "knowledge" / "notice")["authors"] == ["孙悦"]
    assert [s["title"] for s in sections] == ["老旧小区加装电梯提速", "（一）简化审批", "（二）资金补助"]
    assert sections[1]["paragraphs"] == ["审批时限压缩到15个工作日。"]
    assert sections[1]["captions"] == [{"text": "新装的电梯"}]
    assert sections[2]["paragraphs"] == ["每台电梯补助20万元。"]


def test_unreadable_inputs_are_messages(tmp_path, capsys):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "a.odt").write_bytes(b"PK")
    (tmp_path / "b.docx").write_bytes(b"not a zip")
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe\x00bad")
    for name, message in (("a.pdf", "not a readable PDF"), ("a.odt", "cannot import .odt"), ("b.docx", "not a Word .docx file"),
                          ("c.txt", "not UTF-8 text"), ("missing.txt", "cannot be read")):
        code, _ = import_into(tmp_path / "knowledge", tmp_path / name)
        err = capsys.readouterr().err
        assert code == 1 and name in err and message in err and "Traceback" not in err
    assert not (tmp_path / "knowledge").exists()


def test_one_bad_file_writes_none(tmp_path, capsys):
    code, _ = import_into(tmp_path, SECOND_TEXT, tmp_path / "missing.txt")
    assert code == 1 and not (tmp_path / "water-saving-city").exists()


def test_text_without_headings_is_one_section(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("公园延长开放时间\n\n全市12座公园夏季延长开放到晚上10点。\n", encoding="utf-8")
    plan = plan_import(path, tmp_path / "knowledge")
    apply_import(plan, replace=False)
    (section,) = sections_of(tmp_path / "knowledge" / "short")
    assert "label" not in section and section["title"] == "公园延长开放时间"


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises((ArticleImportError, ReadError), match="empty.txt"):
        plan_import(path, tmp_path / "knowledge")


def test_a_heading_over_sub_headings_is_their_area(tmp_path):
    page = tmp_path / "plan.md"
    page.write_text("# 实施方案\n\n为推进工作，制定本方案。\n\n## 一、主要任务\n\n### （一）扩大覆盖\n\n覆盖率达到90%。\n\n"
                    "### （二）提高标准\n\n标准提高一档。\n\n## 二、保障措施\n\n加强组织领导。\n", encoding="utf-8")
    assert import_into(tmp_path / "knowledge", page)[0] == 0
    sections = sections_of(tmp_path / "knowledge" / "plan")
    assert [(s["title"], s.get("area")) for s in sections] == [
        ("实施方案", None), ("（一）扩大覆盖", "一、主要任务"), ("（二）提高标准", "一、主要任务"), ("二、保障措施", None)]


@pytest.mark.parametrize("text, date", [
    ("发布时间：2024年5月6日 10:30", "2024-05-06"), ("2024-05-06", "2024-05-06"), ("日期：2024.5.6", "2024-05-06"),
    ("2024-05-06T08:30:00+08:00", "2024-05-06"), ("D:20240506083000+08'00'", "2024-05-06"),
    ("2024年13月40日", ""), ("第12345页", ""), ("", "")])
def test_dates_are_normalised_and_impossible_ones_dropped(text, date):
    assert normalized_date(text) == date


def test_author_properties_without_placeholders():
    assert author_names("Administrator") == [] and author_names("Microsoft Office User") == []
    assert author_names("王丽、陈刚") == ["王丽", "陈刚"] and author_names("Li Ming; Wang Hua") == ["Li Ming", "Wang Hua"]
