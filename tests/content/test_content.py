"""Content tests: every article in knowledge/ must be a faithful transcription of its source text.

Each article folder (knowledge/<article>/article.yaml + section files) whose ``imported_from`` file is kept in
tests/fixtures is checked against that text, whatever its number of sections. The seed article is also checked
against its non-body lines written down independently below. Reads the YAML files directly with PyYAML
(independent of the ``bot`` package).
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.knowledge import ARTICLE_FILE, PINS_FILE

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARTICLE = FIXTURES / "wenzhou_ten_samples.txt"
SEED = KNOWLEDGE / "wenzhou-ten-samples"
SECOND_ARTICLE = FIXTURES / "articles" / "water-saving-city"  # the tests' made-up second article, not shipped
VOCABULARY = ("synonyms.yaml", "units.yaml", "examples.yaml")

# Non-body lines of the article, written down independently of the knowledge files.
HEADLINE = "温州聚焦先行示范 十大实践样本出炉"
AUTHORS = "周琳子 叶志攀"
AREAS = [
    "经济高质量发展先行示范",
    "收入分配制度改革先行示范",
    "城乡区域协调发展先行示范",
    "公共服务优质共享先行示范",
    "社会主义先进文化先行示范",
    "生态文明建设先行示范",
    "社会治理先行示范",
]
CAPTIONS = [
    "温州借力世界青年科学家峰会,加快经济创新发展。",
    "正威长三角电子信息产业中心落户平阳",
    "遍布温州的城市书房",
    "瑞安农商银行农金知识宣传队进村普及金融知识,助居民“守好钱袋子”。",
    "文成“侨家乐”民宿——寒舍迴塘",
    "在疫情防控、社会救助等领域发挥重要作用的共享社·幸福里。",
    "温州洞头蓝湾生态修复项目",
]
CREDITS = ["陈亮 摄", "(本版图片由温州市发展与改革委员会提供)"]
PHOTO_CREDIT = "本版图片由温州市发展与改革委员会提供"
SLOGAN = ["我们走在 大路上", "高质量发展建设", "共同富裕示范区"]
SAMPLE_HEADING = re.compile(r"^样本[一二三四五六七八九十]+:")
LABELS = ["样本一", "样本二", "样本三", "样本四", "样本五",
          "样本六", "样本七", "样本八", "样本九", "样本十"]
SECTION_IDS = ["intro"] + [f"s{i}" for i in range(1, 11)]

SENTENCE = re.compile(r"[^。！？!?;；]+(?:[。！？!?;；]+[”’」』)]*)?")


def squash(text):
    """Remove all whitespace (the comparison is whitespace-insensitive)."""
    return re.sub(r"\s+", "", text)


def sentences(paragraph):
    """Split one paragraph into sentences at 。！？; (a paragraph end also ends a sentence)."""
    return [s for s in (squash(m) for m in SENTENCE.findall(paragraph)) if s]


# ---------------------------------------------------------------- loading

def article_text():
    return ARTICLE.read_text(encoding="utf-8")


def article_lines():
    return [line.strip() for line in article_text().splitlines() if line.strip()]


def non_body_lines():
    return {HEADLINE, AUTHORS, *AREAS, *CAPTIONS, *CREDITS, *SLOGAN}


def body_lines():
    """Body paragraphs of the article as printed (the broken 样本八 paragraph is two lines)."""
    skip = non_body_lines()
    return [ln for ln in article_lines() if ln not in skip and not SAMPLE_HEADING.match(ln)]


def article_folders():
    """The shipped articles and the tests' second article: content checks hold for both."""
    return sorted(p.parent for p in KNOWLEDGE.glob("*/article.yaml")) + [SECOND_ARTICLE]


def article_meta(folder):
    return yaml.safe_load((folder / "article.yaml").read_text(encoding="utf-8"))


def section_files(folder=SEED):
    return sorted(p for p in folder.glob("*.yaml") if p.name not in (ARTICLE_FILE, PINS_FILE))


def load_sections(folder=SEED):
    out = []
    for path in section_files(folder):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        assert isinstance(data, dict), f"{path.name}: not a mapping"
        out.append((path.name, data))
    return out


def sections_by_id():
    return {d["id"]: d for _, d in load_sections()}


def all_paragraphs():
    return [p for _, d in load_sections() for p in d["paragraphs"]]


def all_captions():
    return [(d["id"], c) for _, d in load_sections() for c in (d.get("captions") or [])]


def load_synonyms():
    with (KNOWLEDGE / "synonyms.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["groups"]


# ---------------------------------------------------------------- fixture sanity

def test_non_body_lines_exist_in_article():
    lines = set(article_lines())
    missing = [ln for ln in non_body_lines() if ln not in lines]
    assert not missing, f"expected non-body lines not found in the article: {missing}"
    assert sum(1 for ln in lines if SAMPLE_HEADING.match(ln)) == 10


def test_body_classification():
    # 4 intro paragraphs + 10 sample paragraphs, one of them printed across two lines
    assert len(body_lines()) == 15


# ---------------------------------------------------------------- structure

def test_seed_section_ids():
    ids = [d.get("id") for _, d in load_sections()]
    assert sorted(ids) == sorted(SECTION_IDS)


def test_seed_article_file():
    meta = article_meta(SEED)
    assert meta["headline"] == HEADLINE and meta["authors"] == AUTHORS.split()
    assert meta["photo_credit"] == PHOTO_CREDIT and meta["imported_from"] == ARTICLE.name


def test_section_ids_unique_across_articles():
    ids = [d.get("id") for folder in article_folders() for _, d in load_sections(folder)]
    assert len(set(ids)) == len(ids), f"duplicate ids: {ids}"
    assert len(article_folders()) >= 2  # features are tested with more than one article


@pytest.mark.parametrize("sid", SECTION_IDS)
def test_required_fields(sid):
    d = sections_by_id()[sid]
    assert isinstance(d.get("title"), str) and d["title"].strip()
    assert "source" not in d  # the article folder's article.yaml names the article, once
    paras = d.get("paragraphs")
    assert isinstance(paras, list) and paras, f"{sid}: paragraphs must be a non-empty list"
    assert all(isinstance(p, str) and p.strip() for p in paras)
    for c in d.get("captions") or []:
        assert isinstance(c.get("text"), str) and c["text"].strip()
        assert set(c) <= {"text", "credit"}


def test_intro_has_no_area_and_headline_title():
    d = sections_by_id()["intro"]
    assert "area" not in d
    assert squash(d["title"]) == squash(HEADLINE)


@pytest.mark.parametrize("n", range(1, 11))
def test_sample_title_label_and_area_match_article(n):
    d = sections_by_id()[f"s{n}"]
    label = LABELS[n - 1]
    assert d.get("label") == label
    assert d.get("area") in AREAS, f"s{n}: missing or unknown area {d.get('area')!r}"
    # the heading line for this sample, and the area heading standing above it
    lines = article_lines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith(label + ":"))
    assert squash(lines[idx]) == squash(f"{label}:{d['title']}")
    area_above = next(ln for ln in reversed(lines[:idx]) if ln in AREAS)
    assert d["area"] == area_above


def test_titles_have_no_stray_layout_spaces():
    # spaces that fell inside a phrase must be removed
    titles = {sid: d["title"] for sid, d in sections_by_id().items()}
    for bad in ("山区县 高质量", "婴幼儿 照护", "海上 花园", "全面 激活"):
        assert not any(bad in t for t in titles.values()), bad


# ---------------------------------------------------------------- faithfulness

def test_every_article_sentence_is_in_knowledge():
    paras = [squash(p) for p in all_paragraphs()]
    missing = [s for line in body_lines() for s in sentences(line)
               if not any(s in p for p in paras)]
    assert not missing, "article sentences missing/altered in knowledge:\n" + "\n".join(missing)


def test_every_knowledge_sentence_is_in_article():
    body = squash("\n".join(body_lines()))
    extra = [(d["id"], s) for _, d in load_sections() for p in d["paragraphs"]
             for s in sentences(p) if s not in body]
    assert not extra, "knowledge sentences not in the article body:\n" + "\n".join(map(str, extra))


def test_knowledge_reproduces_article_body_in_order():
    by_id = sections_by_id()
    knowledge = "".join(squash(p) for sid in SECTION_IDS for p in by_id[sid]["paragraphs"])
    assert knowledge == squash("".join(body_lines()))


def test_no_sentence_duplicated():
    counts = Counter(s for p in all_paragraphs() for s in sentences(p))
    article_counts = Counter(s for s in sentences("".join(body_lines())))
    dup = {s: c for s, c in counts.items() if c > max(1, article_counts.get(s, 0))}
    assert not dup, f"sentences repeated in knowledge: {dup}"


def test_broken_sample8_paragraph_is_joined():
    s8 = sections_by_id()["s8"]["paragraphs"]
    assert any("为市民提供了24小时有光的" in p for p in s8)
    assert not any(p.rstrip().endswith("为市民提供") for p in all_paragraphs())
    assert not any(p.lstrip().startswith("了24小时") for p in all_paragraphs())


def test_captions_titles_occur_in_article():
    text = squash(article_text())
    for sid, c in all_captions():
        assert squash(c["text"]) in text, f"{sid}: caption not in article: {c['text']}"
        if c.get("credit"):
            assert squash(c["credit"]) in text
    for sid, d in sections_by_id().items():
        assert squash(d["title"]) in text, f"{sid}: title not in article: {d['title']}"


def test_all_article_captions_are_kept():
    kept = {squash(c["text"]) for _, c in all_captions()}
    for cap in CAPTIONS + ["".join(SLOGAN)]:
        assert squash(cap) in kept, f"caption lost: {cap}"
    credited = {squash(c["text"]): c.get("credit") for _, c in all_captions()}
    assert credited[squash("正威长三角电子信息产业中心落户平阳")] == "陈亮 摄"


def test_no_caption_or_credit_inside_paragraphs():
    # the slogan as a whole (its single lines legitimately occur in the intro's wording)
    forbidden = set(CAPTIONS) | set(CREDITS) | {"".join(SLOGAN), PHOTO_CREDIT, "陈亮"}
    forbidden |= {c["text"] for _, c in all_captions()}
    forbidden |= {c["credit"] for _, c in all_captions() if c.get("credit")}
    for p in all_paragraphs():
        sp = squash(p)
        for f in forbidden:
            assert squash(f) not in sp, f"caption/credit {f!r} inside paragraph: {p[:40]}…"


# ---------------------------------------------------------------- synonyms

def test_synonym_groups():
    groups = load_synonyms()
    assert isinstance(groups, list) and groups
    text = "\n".join(source_text(folder) for folder in article_folders() if source_path(folder))
    seen = {}
    for g in groups:
        assert isinstance(g, list) and all(isinstance(t, str) and t.strip() for t in g), g
        norm = [t.strip().casefold() for t in g]
        assert len(set(norm)) >= 2, f"group needs >= 2 distinct terms: {g}"
        assert len(set(norm)) == len(norm), f"term repeated within group: {g}"
        assert g[0] in text, f"first term not in article: {g[0]}"
        for t in norm:
            assert t not in seen, f"term {t!r} in two groups: {seen[t]} and {g}"
            seen[t] = g


# ---------------------------------------------------------------- every article against its own source text

def source_path(folder):
    """The kept source text of an article (tests/fixtures/<imported_from>), or None."""
    name = article_meta(folder).get("imported_from")
    path = FIXTURES / name if name else None
    return path if path and path.suffix == ".txt" and path.exists() else None


def source_text(folder):
    return source_path(folder).read_text(encoding="utf-8")


def checked_articles():
    return [folder for folder in article_folders() if source_path(folder)]


def test_every_article_with_a_source_text_is_checked():
    assert {f.name for f in checked_articles()} >= {"wenzhou-ten-samples", "water-saving-city"}


def not_body(folder):
    """Lines of the source that are not body text, as the article folder itself records them."""
    meta = article_meta(folder)
    parts = [meta["headline"], " ".join(meta.get("authors", [])), meta.get("photo_credit", ""), meta.get("source", "")]
    for _, d in load_sections(folder):
        parts += [d["title"], d.get("area", ""), d.get("label", "")]
        parts += [c["text"] for c in d.get("captions") or []] + [c.get("credit", "") for c in d.get("captions") or []]
    return {squash(p) for p in parts if p}


@pytest.mark.parametrize("folder", checked_articles(), ids=lambda f: f.name)
def test_article_paragraphs_are_the_source_body_in_order(folder):
    """Every paragraph is verbatim source text, in the source's order, and no source sentence is lost."""
    body = squash(source_text(folder))
    position = 0
    for _, d in load_sections(folder):
        for p in d["paragraphs"]:
            found = body.find(squash(p), position)
            assert found >= 0, f"{folder.name}/{d['id']}: paragraph not in the source (or out of order): {p[:30]}…"
            position = found + len(squash(p))
    known = squash("".join(p for _, d in load_sections(folder) for p in d["paragraphs"]))
    skip = not_body(folder)
    lost = [line for line in (squash(ln) for ln in source_text(folder).splitlines() if ln.strip())
            if line not in known and not any(line in s or s in line for s in skip if s)
            and not any(line.endswith(squash(d["title"])) for _, d in load_sections(folder))]
    assert not lost, f"{folder.name}: source lines in no paragraph, title, caption or credit: {lost}"


@pytest.mark.parametrize("folder", checked_articles(), ids=lambda f: f.name)
def test_article_sections_have_body_and_titles_from_the_source(folder):
    text = squash(source_text(folder))
    assert squash(article_meta(folder)["headline"]) in text
    sections = load_sections(folder)
    assert sections, f"{folder.name}: no section files"
    for name, d in sections:
        assert d["paragraphs"] and all(isinstance(p, str) and p.strip() for p in d["paragraphs"]), name
        assert squash(d["title"]) in text, f"{folder.name}/{name}: title not in the source"
        for c in d.get("captions") or []:
            assert squash(c["text"]) in text, f"{folder.name}/{name}: caption not in the source"
