"""Where articles come from and what can go wrong there: web addresses (a server started here on
127.0.0.1), hostile files bounded before parsing (each refusal one line naming the file and the setting),
folder names kept inside knowledge/, `remove`, and what a re-import would change."""

from __future__ import annotations

import http.server
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_import_word_web import HEADLINE, META, assert_sections, page, word_file

from bot.cli import main
from devtools.documents import article_from_knowledge, write_pdf
from tests.helpers import FIXTURES, KNOWLEDGE


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--set", f"knowledge_dir={tmp_path / 'knowledge'}", *args], out=out)
    return code, out.getvalue()


def one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


# ---- web addresses ---------------------------------------------------------------------------------------

class Site(http.server.BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(40):  # a page that drips in, slower than the timeout allows
                    self.wfile.write(b"<p>x</p>")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:  # the importer gave up at its timeout
                pass
            return
        status, kind, body = self.pages.get(self.path, (404, "text/html", b"not found"))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", body.decode())
            body = b""
        self.send_header("Content-Type", kind)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the importer stopped reading at its size limit
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    Site.pages = {
        "/art/gaizao.html": (200, "text/html; charset=gbk", page("<p>作者：陈思远 李晓梅　发布时间：2024年5月6日</p>",
                                                                 META).replace('charset="utf-8"', 'charset="gbk"')
                             .encode("gbk")),
        "/old": (302, "text/html", b"/art/gaizao.html"),
        "/big.html": (200, "text/html", b"<p>" + "很长的网页。".encode() * 700_000 + b"</p>"),
        "/file.pdf": (200, "application/pdf", b"%PDF-1.4"),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_a_web_page_by_its_address(tmp_path, site):
    code, out = run(tmp_path, "import", f"{site}/old")
    assert code == 0, out
    folder = tmp_path / "knowledge" / "lao-jiu-xiao-qu-gai-zao-hui-ji-san-wan"  # the headline in pinyin
    head = yaml.safe_load((folder / "article.yaml").read_text(encoding="utf-8"))
    assert head["headline"] == HEADLINE and head["authors"] == ["陈思远", "李晓梅"] and head["date"] == "2024-05-06"
    assert head["url"] == f"{site}/art/gaizao.html" and head["imported_from"] == f"{site}/old"
    assert_sections([yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("0*.yaml"))])


@pytest.mark.parametrize("path, words", [
    ("/missing", ["HTTP 404"]),
    ("/big.html", ["5 MB", "import_max_text_mb"]),
    ("/file.pdf", ["application/pdf", "download it"]),
    ("/slow", ["0.5 s", "import_url_timeout"]),
])
def test_a_page_that_cannot_be_had_is_one_line(tmp_path, site, capsys, path, words):
    code, _ = run(tmp_path, "--set", "import_url_timeout=0.5", "import", f"{site}{path}")
    assert code == 1
    one_line_error(capsys, f"{site}{path}", *words)
    assert not (tmp_path / "knowledge").exists()


def test_only_web_addresses(tmp_path, capsys):
    assert run(tmp_path, "import", "file:///etc/passwd")[0] == 1
    one_line_error(capsys, "only http:// and https://")


# ---- hostile files ---------------------------------------------------------------------------------------

def test_a_zip_bomb_docx_is_refused_before_unpacking(tmp_path, capsys):
    path = word_file(tmp_path / "bomb.docx", ["记者 陈思远"])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/media/image1.png", b"\0" * (300 * 2**20))  # 300 MB of zeros packs to 300 KB
    assert path.stat().st_size < 2**20
    assert run(tmp_path, "import", str(path))[0] == 1
    one_line_error(capsys, "bomb.docx", "200 MB", "import_docx_max_unpacked_mb")
    assert run(tmp_path, "--set", "import_docx_max_unpacked_mb=1000", "import", str(path))[0] == 1
    one_line_error(capsys, "bomb.docx", "times its packed size", "import_docx_max_ratio")


def test_a_docx_of_many_entries_is_refused(tmp_path, capsys):
    path = word_file(tmp_path / "many.docx", ["记者 陈思远"])
    with zipfile.ZipFile(path, "a") as package:
        for n in range(2100):
            package.writestr(f"extra/entry{n}.xml", "<a/>")
    assert run(tmp_path, "import", str(path))[0] == 1
    one_line_error(capsys, "many.docx", "2000", "import_docx_max_entries")


@pytest.mark.parametrize("xml", [b"<w:document xmlns:w='x'><w:body><w:p><w:r><w:t>", b"\x00\xff garbage",
                                 b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]><d>&a;</d>'])
def test_a_broken_document_xml_is_one_line(tmp_path, capsys, xml):
    good = word_file(tmp_path / "good.docx", ["记者 陈思远"])
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, xml if item.filename == "word/document.xml" else source.read(item))
    code, _ = run(tmp_path, "import", str(path))
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "broken.docx" in err and "Traceback" not in err, err


def test_a_large_web_page_is_refused_before_parsing(tmp_path, capsys):
    path = tmp_path / "huge.html"
    path.write_bytes(b"<html><body>" + b"<p>" + "很长的网页。".encode() * 3_000_000 + b"</p></body></html>")
    assert path.stat().st_size > 50 * 2**20
    assert run(tmp_path, "import", str(path))[0] == 1
    one_line_error(capsys, "huge.html", "5 MB", "import_max_text_mb")


def test_pdf_size_and_reading_time_are_bounded(tmp_path, capsys):
    pdf = write_pdf(tmp_path / "long.pdf", article_from_knowledge(KNOWLEDGE, min_chars=60_000))
    assert run(tmp_path, "--set", "import_max_pdf_mb=0.01", "import", str(pdf))[0] == 1
    one_line_error(capsys, "long.pdf", "0.01 MB", "import_max_pdf_mb")
    assert run(tmp_path, "--set", "import_max_seconds=0.05", "import", str(pdf))[0] == 1
    one_line_error(capsys, "long.pdf", "0.05 s", "import_max_seconds")
    assert not (tmp_path / "knowledge").exists()


@pytest.mark.slow
def test_a_100000_paragraph_docx_is_read_as_a_stream(tmp_path):
    """Within the default time limit (it took 323 s before the reader streamed the XML)."""
    path = word_file(tmp_path / "long.docx", ["记者 陈思远"])
    with zipfile.ZipFile(path) as source:
        xml = source.read("word/document.xml").decode()
        items = {item.filename: source.read(item) for item in source.infolist()}
    body = "".join(f"<w:p><w:r><w:t>第{n}段：全市新建社区食堂42家。</w:t></w:r></w:p>" for n in range(100_000))
    items["word/document.xml"] = xml.replace("<w:sectPr", body + "<w:sectPr", 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items.items():
            target.writestr(name, data)
    code, out = run(tmp_path, "import", "--dry-run", str(path))
    assert code == 0 and "100001 paragraph(s)" in out, out[-500:]


# ---- folders -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", ["../x", "/tmp/x", "a/b", ".hidden", "..", ""])
def test_a_slug_stays_inside_knowledge(tmp_path, capsys, slug):
    code, _ = run(tmp_path, "import", "--slug", slug, str(FIXTURES / "water_saving_city.txt"))
    assert code == 1
    one_line_error(capsys, "must stay inside")
    assert not (tmp_path / "x").exists() and not Path("/tmp/x/article.yaml").exists()


def test_remove_shows_what_goes_and_needs_a_yes_without_a_terminal(tmp_path, capsys, monkeypatch):
    assert run(tmp_path, "import", str(FIXTURES / "water_saving_city.txt"))[0] == 0
    folder = tmp_path / "knowledge" / "water-saving-city"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal
    code, out = run(tmp_path, "remove", "water-saving-city")
    assert code == 1 and "《节水型城市建设三项举措见实效》" in out and "00.yaml" in out and folder.is_dir()
    one_line_error(capsys, "--yes")
    assert run(tmp_path, "remove", "../knowledge")[0] == 1 and folder.is_dir()
    one_line_error(capsys, "must stay inside")
    code, out = run(tmp_path, "remove", "--yes", "water-saving-city")
    assert code == 0 and "removed" in out and not folder.exists()
    assert list((tmp_path / "knowledge").iterdir()) == []
    assert run(tmp_path, "remove", "--yes", "water-saving-city")[0] == 1
    one_line_error(capsys, "no article folder")


def test_remove_asks_on_a_terminal(tmp_path, monkeypatch):
    assert run(tmp_path, "import", str(FIXTURES / "water_saving_city.txt"))[0] == 0

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for answer, kept in (("n\n", True), ("y\n", False)):
        monkeypatch.setattr("sys.stdin", Terminal(answer))
        assert run(tmp_path, "remove", "water-saving-city")[0] == 0
        assert (tmp_path / "knowledge" / "water-saving-city").is_dir() == kept


def test_replace_dry_run_lists_the_changed_sentences_and_figures(tmp_path):
    original = FIXTURES / "water_saving_city.txt"
    assert run(tmp_path, "import", str(original))[0] == 0
    updated = tmp_path / "src" / original.name
    updated.parent.mkdir()
    text = original.read_text(encoding="utf-8")
    updated.write_text(text.replace("365公里", "380公里").replace("低保家庭每户每月免收5立方米水费。", "")
                       + "\n全市还将新建节水教育基地3个。\n", encoding="utf-8")
    before = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "knowledge" / "water-saving-city").iterdir()}
    code, out = run(tmp_path, "import", "--replace", "--dry-run", str(updated))
    assert code == 0
    assert "changed [365公里 → 380公里]:" in out and "- 针对城区供水管网老化" in out and "+ 针对城区供水管网老化" in out
    assert "removed: 低保家庭每户每月免收5立方米水费。" in out
    assert "added:   全市还将新建节水教育基地3个。" in out
    assert {p.name: p.read_text(encoding="utf-8")
            for p in (tmp_path / "knowledge" / "water-saving-city").iterdir()} == before  # nothing written
