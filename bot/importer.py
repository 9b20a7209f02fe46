"""`python -m bot import FILE…`: an article file → an article folder of reviewed-format YAML in knowledge/.

The article is found in the file's blocks (bot.readers) the way an editor reads a government article: the
headline, the byline under it, the lead before the first heading, the sections under headings (样本一：…,
一、, （一）, 第一章, or the format's own headings), the group heading standing above a run of sections (its
``area``), photo captions with their credits, and site clutter (navigation, 版权所有, 备案号) to drop.
Nothing is rewritten: paragraphs are kept verbatim, only a paragraph the print layout broke in two is joined.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .article_folder import checked_slug, clean_leftovers, write_folder
from .chunking import split_sentences
from .errors import ArticleImportError
from .figures import extract_figures
from .knowledge import ARTICLE_FILE, NON_SECTION_FILES, read_yaml
from .readers import (
    CAPTION,
    HEADING,
    NUMBERED_HEADING,
    NUMERAL,
    TEXT,
    TITLE,
    Block,
    Metadata,
    ReadLimits,
    normalized_date,
    read_file,
    split_names,
)
from .text import CLOSING_QUOTES, SENTENCE_END_MARKS

LEAD_LABEL = "导语"
MAX_HEADING_CHARS = 60  # a longer "一、…" line is a numbered paragraph, not a heading
MAX_CAPTION_CHARS = 60
MAX_AREA_CHARS = 30
# 样本一：… / 案例2: … / 第一章 … : a word and a number name the section (the label); the rest is its title
_LABELLED = re.compile(rf"^((?:第[{NUMERAL}\d]+[章节部分篇条])|(?:[\u4e00-\u9fff]{{1,4}}?[{NUMERAL}\d]+))"
                       r"\s*[:：、．.]?\s*(.+)$")
_LABEL_WORDS = re.compile(rf"^(?:第[{NUMERAL}\d]+[章节部分篇条]|(?:样本|案例|典型|经验|实践|做法|举措|措施|专题|板块|亮点)"
                          rf"[{NUMERAL}\d]+)$")
# 一、… / （一）… / 1. … : numbering only; the heading is shown as printed
_NUMBERED = re.compile(rf"^{NUMBERED_HEADING}\s*\S")
_SENTENCE_END = re.compile(f"[{SENTENCE_END_MARKS}…]+[{CLOSING_QUOTES}]*$")  # a line ending a sentence or …
_CREDIT = re.compile(r"^(?:(?:记者|摄影|通讯员|图)[/:：\s]*)?[\u4e00-\u9fff·]{2,4}(?:[\s\u3000、]+[\u4e00-\u9fff·]{2,4})*\s*摄$")
_PAGE_CREDIT = re.compile(r"^[(（]?((?:本版|本文|文中)?图片由.+提供)[)）]?$")
_BYLINE_PREFIX = r"(?:本报记者|记者|作者|文|通讯员|撰稿)"
_BYLINE = re.compile(rf"^(?:{_BYLINE_PREFIX}[/:：\s]*)?"
                     r"([\u4e00-\u9fff·]{2,4}(?:[\s\u3000、,，]+(?:通讯员\s*)?[\u4e00-\u9fff·]{2,4})*)$")
_DATE_LINE = re.compile(r"^\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
MAX_BYLINE_LINES = 3  # lines under the headline that may hold the byline, the date and the source
_META_LINE = re.compile(r"(来源|发布时间|发布日期|日期|时间|作者|编辑|责任编辑|浏览次数|点击数|字号)[:：]")
_CLUTTER = re.compile(r"版权所有|备案号|ICP备|网站标识码|公网安备|主办单位|承办单位|技术支持|当前位置|您现在的位置|"
                      r"分享到|打印本页|关闭窗口|扫一扫|【打印】|【关闭】|返回顶部|上一篇|下一篇|^首页\s*[>|]")
_QUOTE_CLOSE = "”’」』）)》"



@dataclass
class ImportedSection:
    label: str
    title: str
    area: str = ""
    paragraphs: list[str] = field(default_factory=list)
    captions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ImportedArticle:
    headline: str
    authors: list[str]
    sections: list[ImportedSection]
    date: str = ""
    source: str = ""
    url: str = ""
    photo_credit: str = ""
    imported_from: str = ""
    order: int | None = None  # kept from the article folder being replaced


# ---------------------------------------------------------------------------------------------- splitting


def layout_spaces_removed(heading: str) -> str:
    """A printed heading that wrapped keeps the line break as a space inside a phrase (推动山区县 高质量腾飞):
    drop it. A space after a closing quote, or several spaces, separate phrases (城乡阅读一体 文化惠民 奔富)."""
    parts = re.split(r"[ \u3000]+", heading.strip())
    if len(parts) != 2 or parts[0][-1] in _QUOTE_CLOSE:
        return " ".join(parts)
    return "".join(parts)


def _is_heading(block: Block) -> bool:
    if block.kind == HEADING:
        return True
    text = block.text
    if block.kind != TEXT or len(text) > MAX_HEADING_CHARS or _SENTENCE_END.search(text):
        return False
    if block.emphasis:  # a short line set apart by the format (all bold, larger type): a heading
        return True
    match = _LABELLED.match(text)
    return bool(match and _LABEL_WORDS.match(match.group(1))) or bool(_NUMBERED.match(text))


def _label_and_title(text: str, printed: bool) -> tuple[str, str]:
    match = _LABELLED.match(text)
    if match and _LABEL_WORDS.match(match.group(1)):
        label, title = match.group(1), match.group(2)
        return label, layout_spaces_removed(title) if printed else title.strip()
    return "", text.strip()


def _metadata_line(text: str, shown: Metadata) -> bool:
    """Read 来源：… 发布时间：… 作者：… into ``shown``; True if the line was such a line. A byline standing
    before the first label (记者 陈思远 李晓梅　发布时间：2024年5月6日) gives the authors."""
    label = _META_LINE.search(text)
    if not label or len(text) > 120:
        return False
    fields = dict(re.findall(r"(来源|发布时间|发布日期|日期|时间|作者)[:：]\s*([^\s\u3000]+(?:\s[^\s\u3000:：]+)*?)"
                             r"(?=[\s\u3000]+\S+[:：]|[\s\u3000]*$)", text))
    if fields.get("来源") and not shown.source:
        shown.source = fields["来源"]
    before = _BYLINE.match(text[:label.start()].strip())
    if fields.get("作者") and not shown.authors:
        shown.authors = split_names(fields["作者"])
    elif before and re.match(_BYLINE_PREFIX, text) and not shown.authors:
        shown.authors = split_names(re.sub(r"通讯员", " ", before.group(1)))
    if not shown.date:
        shown.date = normalized_date(text)
    return True


def _byline(block: Block) -> list[str] | None:
    """The names of a byline line under the headline (记者 陈思远 李晓梅, 文/陈思远, 周琳子 叶志攀); None if
    the line is not one. Unprefixed names that could be a short heading are a byline only in body type."""
    if block.kind != TEXT or _SENTENCE_END.search(block.text):
        return None
    match = _BYLINE.match(block.text)
    if not match or (not re.match(_BYLINE_PREFIX, block.text) and _is_heading(block)):
        return None
    return split_names(re.sub(r"通讯员", " ", match.group(1)))


def split_article(meta: Metadata, blocks: list[Block], printed: bool) -> ImportedArticle:
    """The article in ``blocks``; ``meta`` is what the file says outside its text, used only where the printed
    lines (byline, 来源/发布时间 lines) say nothing. ``printed`` says the text is a transcription of a
    print layout (plain text), where wide gaps mark photo blocks and headings may carry line-wrap spaces."""
    shown = Metadata()
    blocks = [b for b in blocks if not _CLUTTER.search(b.text) and not _metadata_line(b.text, shown)]
    if not blocks:
        raise ArticleImportError("no article text found")
    first, headline = blocks[0], meta.title
    if first.kind == TITLE or (first.kind == HEADING and first.level <= 1) or (
            first.kind == TEXT and len(first.text) <= MAX_HEADING_CHARS and not _SENTENCE_END.search(first.text)):
        headline, blocks = first.text, blocks[1:]  # the headline as shown beats the file's properties
    if not headline:
        raise ArticleImportError("no headline: the file has no title and its first line is body text")
    blocks = [b for b in blocks if not (b.kind in (TITLE, HEADING) and b.text == headline)]
    for _ in range(MAX_BYLINE_LINES):  # the byline and a date standing alone, right under the headline
        names = _byline(blocks[0]) if blocks else None
        if names is not None:
            shown.authors = shown.authors or names
        elif blocks and _DATE_LINE.match(blocks[0].text) and not shown.date:
            shown.date = normalized_date(blocks[0].text)
        else:
            break
        blocks = blocks[1:]
    meta = shown.or_else(meta)
    photo_gap = 1 + Counter(b.gap for b in blocks).most_common(1)[0][0] if printed and blocks else 10**6

    article = ImportedArticle(headline=headline, authors=list(meta.authors), sections=[], date=meta.date,
                              source=meta.source, url=meta.url)
    lead = ImportedSection(LEAD_LABEL, headline)
    sections: list[ImportedSection] = [lead]
    captions: list[tuple[dict[str, str], ImportedSection]] = []  # each caption and the section it stands in
    area, area_level = "", 0
    in_photos = False  # inside a photo block of a print layout: captions and credits, no body text
    previous = ""  # kind of the block before: "paragraph", "caption" or ""
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        text, wide_gap = block.text, block.gap >= photo_gap
        if wide_gap and block.kind == TEXT and len(text) <= MAX_CAPTION_CHARS:
            in_photos = True
        credit = _PAGE_CREDIT.match(text)
        if credit or (_CREDIT.match(text) and captions and block.kind != HEADING):
            if credit:
                article.photo_credit = credit.group(1)
            else:
                captions[-1][0]["credit"] = text
            previous = ""
            continue
        if _is_heading(block):
            in_photos, previous = False, ""
            if following is not None and _is_heading(following) and (
                    block.kind == TEXT or following.level > block.level):
                area, area_level = text, block.level  # a group heading over the sections that follow
                continue
            if block.kind == HEADING and area and block.level <= area_level:
                area = ""
            label, title = _label_and_title(text, printed)
            sections.append(ImportedSection(label, title, area))
            continue
        if (block.kind == TEXT and not wide_gap and following is not None and following.kind == TEXT
                and _is_heading(following) and len(text) <= MAX_AREA_CHARS and not _SENTENCE_END.search(text)):
            in_photos, previous, area = False, "", text  # plain-text group heading (经济高质量发展先行示范)
            continue
        if in_photos and len(text) > MAX_CAPTION_CHARS and _SENTENCE_END.search(text):
            in_photos = False  # body text again after the photos
        if block.kind == CAPTION or in_photos:
            text = layout_spaces_removed(text) if printed else text
            if previous == "caption" and not wide_gap and not _SENTENCE_END.search(captions[-1][0]["text"]):
                captions[-1][0]["text"] += " " + text  # one caption set on several short lines
            else:
                captions.append(({"text": text}, sections[-1]))
            previous = "caption" if block.kind == TEXT else ""
            continue
        paragraphs = sections[-1].paragraphs
        if printed and previous == "paragraph" and not _SENTENCE_END.search(paragraphs[-1]):
            paragraphs[-1] += text  # a paragraph the print layout broke in two
        else:
            paragraphs.append(text)
        previous = "paragraph"
    article.sections = [s for s in sections if s.paragraphs]
    if not article.sections:
        raise ArticleImportError("no body paragraphs found")
    if article.sections == [lead]:
        lead.label = ""  # an article without headings is one section
    for caption, standing_in in captions:  # a web page or document shows a photo where it belongs
        owner = _owner(article.sections, caption["text"], standing_in) if printed else standing_in
        (owner if owner in article.sections else article.sections[0]).captions.append(caption)
    return article


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1) if not re.search(r"[\s\W]", text[i:i + 2])}


def _owner(sections: list[ImportedSection], caption: str, standing_in: ImportedSection) -> ImportedSection:
    """The section a photo caption is about: the one sharing its rarest words (print layouts place photos
    wherever they fit); where none shares a word, the section the caption stands in."""
    texts = [_bigrams(s.title + "".join(s.paragraphs)) for s in sections]
    frequency = Counter(g for grams in texts for g in grams)
    scores = [sum(1 / frequency[g] for g in _bigrams(caption) if g in grams) for grams in texts]
    best = max(range(len(sections)), key=lambda i: scores[i])
    return sections[best] if scores[best] > 0 else standing_in


# ---------------------------------------------------------------------------------------------- writing


class _Quoted(str):
    """Text written in double quotes, as editors write the article's wording (safe for “, :, # …)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Quoted, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", str(text), style='"'))


def _dump(data: Any, comment: str) -> str:
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10**6,
                     default_flow_style=None)
    return f"# {comment}\n{body}"


def slug_of(name: str) -> str:
    """Folder name for an article from a file name or headline: ASCII letters, digits and '-' (Chinese as
    pinyin)."""
    if re.search(r"[\u4e00-\u9fff]", name):
        from pypinyin import lazy_pinyin

        name = "-".join(lazy_pinyin(name))
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if len(slug) > 40:  # cut at a word (syllable) boundary
        slug = slug[:41].rsplit("-", 1)[0] if "-" in slug[:41] else slug[:40]
    return slug.strip("-") or "article"


def article_files(article: ImportedArticle, id_prefix: str) -> dict[str, str]:
    """File name → YAML text for the article folder: article.yaml and NN.yaml per section (00 = lead)."""
    note = f"imported from {article.imported_from} by `python -m bot import`; reviewed by: (editor)"
    head: dict[str, Any] = {"headline": _Quoted(article.headline), "authors": list(article.authors)}
    for key in ("date", "source", "url", "photo_credit", "imported_from", "order"):
        if getattr(article, key) not in ("", None):
            head[key] = getattr(article, key)
    files = {ARTICLE_FILE: _dump(head, note)}
    first = 0 if article.sections[0].label in (LEAD_LABEL, "") else 1
    for n, section in enumerate(article.sections, first):
        data: dict[str, Any] = {"id": f"{id_prefix}-{n}"}
        if section.label:
            data["label"] = section.label
        data["title"] = _Quoted(section.title)
        if section.area:
            data["area"] = section.area
        data["paragraphs"] = [_Quoted(p) for p in section.paragraphs]
        if section.captions:
            data["captions"] = [{k: _Quoted(v) for k, v in c.items()} for c in section.captions]
        files[f"{n:02d}.yaml"] = _dump(data, note)
    return files


def _ids_elsewhere(knowledge_dir: Path, folder: Path) -> dict[str, str]:
    """Section id → file, for every section file outside ``folder`` (unreadable files are build's concern;
    hidden folders, such as an interrupted import's leftovers, are not content)."""
    ids: dict[str, str] = {}
    paths = [p for p in knowledge_dir.glob("*.yaml") if p.name not in NON_SECTION_FILES]
    paths += [p for p in knowledge_dir.glob("*/*.yaml")
              if p.parent != folder and p.name != ARTICLE_FILE and not p.parent.name.startswith(".")]
    for path in sorted(paths):
        readable, data = read_yaml(path, str(path.relative_to(knowledge_dir)), [])
        if readable and isinstance(data, dict) and isinstance(data.get("id"), (str, int)):
            ids[str(data["id"])] = str(path.relative_to(knowledge_dir))
    return ids


def _paragraphs_in(folder: Path) -> list[str]:
    """The paragraphs of the article folder as it is now, in file order ([] when there is none)."""
    paragraphs: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        readable, data = read_yaml(path, path.name, [])
        if path.name != ARTICLE_FILE and readable and isinstance(data, dict) \
                and isinstance(data.get("paragraphs"), list):
            paragraphs += [p for p in data["paragraphs"] if isinstance(p, str)]
    return paragraphs


@dataclass
class ImportPlan:
    """What importing one file would do: the folder, its files and how each differs from what is there."""

    source: str  # the file or web address, as given
    folder: Path
    article: ImportedArticle
    files: dict[str, str]
    changes: dict[str, str]  # file name → "new" | "changed" | "unchanged" | "removed"
    old_paragraphs: list[str] = field(default_factory=list)  # the folder's paragraphs before the import

    @property
    def unchanged(self) -> bool:
        return all(change == "unchanged" for change in self.changes.values())


def is_address(source: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*://", source, re.I) is not None


def read_source(source: str, limits: ReadLimits, url_timeout: float) -> tuple[ImportedArticle, str]:
    """The article in a file or at a web address, and the default folder name for it."""
    if is_address(source):
        from .readers.web import fetch_page, page_blocks

        address, page = fetch_page(source, limits, url_timeout)
        meta, blocks = page_blocks(page, source)
        meta.url = address  # the page's own address, as fetched (after redirects)
        printed, name = False, ""
    else:
        meta, blocks = read_file(Path(source), limits)
        printed, name = Path(source).suffix.lower() == ".txt", Path(source).stem
    try:
        article = split_article(meta, blocks, printed=printed)
    except ArticleImportError as exc:
        raise ArticleImportError(f"{source}: {exc}") from None
    article.imported_from = source if is_address(source) else Path(source).name
    return article, slug_of(name or article.headline)


def plan_import(source: str | Path, knowledge_dir: Path, slug: str | None = None, id_prefix: str | None = None,
                limits: ReadLimits | None = None, url_timeout: float = 30.0) -> ImportPlan:
    """Read and split ``source`` (a file or an http(s) address); refuse ids that other articles already use."""
    source = str(source)
    article, default_slug = read_source(source, limits or ReadLimits(), url_timeout)
    folder = knowledge_dir / checked_slug(default_slug if slug is None else slug, knowledge_dir)
    kept = folder / ARTICLE_FILE
    if kept.is_file():  # an editor's listing order survives re-importing an updated article
        readable, data = read_yaml(kept, ARTICLE_FILE, [])
        if readable and isinstance(data, dict) and isinstance(data.get("order"), int):
            article.order = data["order"]
    files = article_files(article, id_prefix or folder.name)
    clashes = _ids_elsewhere(knowledge_dir, folder)
    taken = [f"'{sid}' (in {clashes[sid]})" for text in files.values()
             for sid in re.findall(r"^id: (\S+)$", text, re.M) if sid in clashes]
    if taken:
        raise ArticleImportError(f"{source}: section id(s) {', '.join(taken)} already used by another article; "
                                 "import with --id-prefix NAME (or --slug NAME) to give this article its own ids")
    changes: dict[str, str] = {}
    for name, text in files.items():
        path = folder / name
        changes[name] = ("new" if not path.exists()
                         else "unchanged" if path.read_text(encoding="utf-8") == text else "changed")
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            if path.name not in files:
                changes[path.name] = "removed"
    return ImportPlan(source, folder, article, files, changes, _paragraphs_in(folder))


def apply_import(plan: ImportPlan, replace: bool) -> None:
    """Write the plan's folder whole (bot.article_folder); an article folder whose files differ is only
    replaced with ``replace``."""
    edited = [name for name, change in plan.changes.items() if change in ("changed", "removed")]
    if edited and not replace:
        raise ArticleImportError(f"{plan.folder} already holds this article with other content ({', '.join(edited)} "
                                 "would change): re-import with --replace to overwrite it (reviewed edits are lost), "
                                 "or --slug NAME to import it as another article")
    try:
        clean_leftovers(plan.folder.parent)
        write_folder(plan.folder, plan.files)
    except OSError as exc:
        raise ArticleImportError(f"{plan.folder}: cannot write the article ({exc.strerror or exc})") from None


def _sentences(paragraphs: list[str]) -> list[str]:
    return [s.strip() for p in paragraphs for s in split_sentences(p) if s.strip()]


def _similar(a: str, b: str) -> bool:
    """Two versions of one sentence (most of the wording kept), not two different sentences."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.6


def describe_changes(plan: ImportPlan) -> list[str]:
    """What the new version changes in the article's text, sentence by sentence, with the figures that
    differ (1200万元 → 1500万元), so a maintainer sees it before --replace writes anything. Within a run of
    differing sentences, each old sentence is paired with the next similar new one, in order."""
    old = _sentences(plan.old_paragraphs)
    new = _sentences([p for s in plan.article.sections for p in s.paragraphs])
    lines: list[str] = []
    for op, a, b, c, d in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        following = c
        for before in old[a:b]:
            match = next((j for j in range(following, d) if _similar(before, new[j])), None)
            if match is None:
                lines.append(f"  removed: {before}")
                continue
            lines += [f"  added:   {sentence}" for sentence in new[following:match]]
            after, following = new[match], match + 1
            gone = [f for f in extract_figures(before) if f not in extract_figures(after)]
            came = [f for f in extract_figures(after) if f not in extract_figures(before)]
            figures = f" [{', '.join(gone) or '—'} → {', '.join(came) or '—'}]" if gone or came else ""
            lines += [f"  changed{figures}:", f"    - {before}", f"    + {after}"]
        lines += [f"  added:   {sentence}" for sentence in new[following:d]]
    return lines


def describe_plan(plan: ImportPlan, knowledge_dir: Path) -> list[str]:
    """The split as the maintainer reviews it: article, then one line per section file."""
    article = plan.article
    where = plan.folder.relative_to(knowledge_dir.parent) if plan.folder.is_relative_to(knowledge_dir.parent) \
        else plan.folder
    shown = plan.source if is_address(plan.source) else Path(plan.source).name
    lines = [f"{shown} → {where}/: 《{article.headline}》"
             + (f" {' '.join(article.authors)}" if article.authors else "")
             + (f" {article.date}" if article.date else "") + (f" {article.source}" if article.source else "")]
    names = [n for n in plan.files if n != ARTICLE_FILE]
    for name, section in zip(names, article.sections):
        heading = f"{section.label} · {section.title}" if section.label else section.title
        extras = f", {len(section.captions)} caption(s)" if section.captions else ""
        area = f" [{section.area}]" if section.area else ""
        lines.append(f"  {plan.changes[name]:9} {name}  {heading}{area}: {len(section.paragraphs)} paragraph(s)"
                     f"{extras}")
    lines += [f"  {'removed':9} {name}" for name, change in plan.changes.items() if change == "removed"]
    if plan.changes[ARTICLE_FILE] != "unchanged":
        lines.append(f"  {plan.changes[ARTICLE_FILE]:9} {ARTICLE_FILE}")
    return lines
