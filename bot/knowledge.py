"""Content loading and validation: the articles in ``knowledge/`` that editors review.

Content is a set of articles. Each article is a folder ``knowledge/<article-id>/`` holding ``article.yaml``
(headline, authors, date, source, url) and one YAML file per section, read in file-name order. The
vocabulary files (synonyms, units, example questions) sit at the top of ``knowledge/`` and serve every
article. Section files placed directly in ``knowledge/`` (the older flat layout) still load: each names its
article in ``source.article``, and sections naming the same headline form one article.

A malformed file stops the build with a message naming the file and the field, so a maintainer can fix it
without reading a traceback; a file system fault (unreadable file, symlink loop, a folder named like a
file) is named the same way.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import KnowledgeError
from .figures import PERCENT, UNITS

ARTICLE_FILE = "article.yaml"
SYNONYMS_FILE = "synonyms.yaml"
UNITS_FILE = "units.yaml"
EXAMPLES_FILE = "examples.yaml"  # example questions for the Telegram bot's /start
PINS_FILE = "pins.yaml"  # an article's reviewed pins (bot.pins), not a section
NON_SECTION_FILES = frozenset({SYNONYMS_FILE, UNITS_FILE, EXAMPLES_FILE, ARTICLE_FILE})
MAX_EXAMPLE_CHARS = 40  # an example question is a button label
SECTION_FIELDS = frozenset({"id", "title", "label", "area", "source", "paragraphs", "captions"})
ARTICLE_FIELDS = frozenset({"headline", "authors", "date", "source", "url", "photo_credit", "imported_from", "order"})
DEFAULT_ORDER = 100  # articles without an 'order' come after those with one, in folder-name order
# libyaml's parser where PyYAML has it: every build reads every file, and it is ~9× faster (16 → 2 ms here)
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)



class _StrictLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """Safe YAML that refuses a key given twice in one mapping (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Caption:
    text: str
    credit: str = ""


@dataclass(frozen=True)
class Article:
    """Where sections come from: shown to users as the 出处 of an answer."""

    id: str
    headline: str
    authors: tuple[str, ...] = ()
    date: str = ""
    source: str = ""
    url: str = ""
    photo_credit: str = ""
    imported_from: str = ""
    file: str = ""
    order: int = DEFAULT_ORDER

    @property
    def citation(self) -> str:
        """'《headline》（authors）', how an answer names the article."""
        return citation(self.headline, self.authors)


@dataclass(frozen=True)
class Section:
    """One section of an article: its lead or one of its headed parts."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    article: str
    authors: tuple[str, ...] = ()
    label: str = ""
    area: str = ""
    photo_credit: str = ""
    captions: tuple[Caption, ...] = ()
    file: str = ""
    article_id: str = ""
    show_article: bool = False  # set at load time when more than one article is loaded

    @property
    def short_heading(self) -> str:
        """The section within its article, e.g. '样本二 · “金融专员”精准助力“扩中”“提低”'."""
        return f"{self.label} · {self.title}" if self.label else self.title

    @property
    def heading(self) -> str:
        """How the section is named to users; with several articles loaded it also names the article
        (unless the title already is the headline, as for an article's lead)."""
        if self.show_article and self.title != self.article:
            return f"{self.short_heading}（《{self.article}》）"
        return self.short_heading


@dataclass(frozen=True)
class UnitGroup:
    """Units the article gives one kind of amount in, and the words people ask for that amount with."""

    units: tuple[str, ...]
    asked: tuple[str, ...]


@dataclass
class Knowledge:
    sections: list[Section]
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    units: list[UnitGroup] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)


# ---------------------------------------------------------------------------------------------- text fields


def visible(text: str) -> bool:
    """True if ``text`` shows something: not only spaces and invisible characters (U+200B, U+FEFF, …)."""
    return any(unicodedata.category(c)[0] not in "ZC" for c in text)


def _text(data: dict[str, Any], key: str, where: str, problems: list[str], required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            problems.append(f"{where}: field '{key}' is missing")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.append(f"{where}: field '{key}' must be text, not {type(value).__name__}")
        return ""
    text = str(value).strip()
    if text and not visible(text):
        problems.append(f"{where}: field '{key}' has only invisible characters")
        return ""
    if required and not text:
        problems.append(f"{where}: field '{key}' is empty")
    return text


def _names(data: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    raw = data.get(key) or []
    if not isinstance(raw, list) or not all(isinstance(a, str) and visible(a) for a in raw):
        problems.append(f"{where}: field '{key}' must be a list of names")
        return ()
    return tuple(a.strip() for a in raw)


def read_yaml(path: Path, name: str, problems: list[str]) -> tuple[bool, Any]:
    """(True, data) or (False, None) with the reason added to ``problems``; ``name`` is how files are named."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            problems.append(f"{name}: is a folder or special file, not a YAML file")
            return False, None
        return True, yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except UnicodeDecodeError:
        problems.append(f"{name}: not UTF-8 text")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}")
    except OSError as exc:
        problems.append(f"{name}: cannot be read ({exc.strerror or exc})")
    return False, None


# ---------------------------------------------------------------------------------------------- parsers


def parse_article(data: Any, file: str, article_id: str) -> tuple[Article | None, list[str]]:
    """Validate an article.yaml mapping; returns the article or the list of problems."""
    if not isinstance(data, dict):
        return None, [f"{file}: expected a mapping with headline and authors"]
    problems: list[str] = []
    headline = _text(data, "headline", file, problems)
    authors = _names(data, "authors", file, problems)
    optional = {key: _text(data, key, file, problems, required=False)
                for key in ("date", "source", "url", "photo_credit", "imported_from")}
    order = data.get("order", DEFAULT_ORDER)
    if not isinstance(order, int) or isinstance(order, bool):
        problems.append(f"{file}: field 'order' must be a whole number (lower is listed first)")
    unknown = set(data) - ARTICLE_FIELDS
    if unknown:
        problems.append(f"{file}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    if problems:
        return None, problems
    return Article(id=article_id, headline=headline, authors=authors, file=file, order=order, **optional), []


def parse_section(data: Any, file: str, article: Article | None = None) -> tuple[Section | None, list[str]]:
    """Validate one section mapping; returns the section or the list of problems.

    Inside an article folder ``article`` gives headline and authors; a flat file names them in ``source``."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return None, [f"{file}: expected a mapping with id, title and paragraphs"]
    section_id = _text(data, "id", file, problems)
    title = _text(data, "title", file, problems)
    label = _text(data, "label", file, problems, required=False)
    area = _text(data, "area", file, problems, required=False)
    source = data.get("source")
    headline, authors, credit = (article.headline, article.authors, article.photo_credit) if article else ("", (), "")
    if source is None and article is None:
        problems.append(f"{file}: field 'source' is missing (needs source.article, or put the file in an "
                        f"article folder with {ARTICLE_FILE})")
    elif source is not None and not isinstance(source, dict):
        problems.append(f"{file}: field 'source' must be a mapping (article, authors, photo_credit)")
    elif isinstance(source, dict):
        headline = _text(source, "article", f"{file}: source", problems, required=article is None) or headline
        credit = _text(source, "photo_credit", f"{file}: source", problems, required=False) or credit
        if "authors" in source:
            authors = _names(source, "authors", f"{file}: source", problems)
    paragraphs = data.get("paragraphs")
    if not isinstance(paragraphs, list) or not paragraphs:
        problems.append(f"{file}: field 'paragraphs' is missing or empty (the body text is required)")
        paragraphs = []
    for i, p in enumerate(paragraphs, 1):
        if not isinstance(p, str) or not p.strip():
            problems.append(f"{file}: field 'paragraphs' item {i} is empty or not text")
        elif not visible(p):
            problems.append(f"{file}: field 'paragraphs' item {i} has only invisible characters")
    captions = []
    raw_captions = data.get("captions") or []
    if not isinstance(raw_captions, list):
        problems.append(f"{file}: field 'captions' must be a list")
        raw_captions = []
    for i, c in enumerate(raw_captions, 1):
        if not isinstance(c, dict) or not isinstance(c.get("text"), str) or not visible(c["text"]):
            problems.append(f"{file}: field 'captions' item {i} needs a non-empty 'text'")
            continue
        captions.append(Caption(c["text"].strip(), str(c.get("credit") or "").strip()))
    unknown = set(data) - SECTION_FIELDS
    if unknown:
        problems.append(f"{file}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    if problems:
        return None, problems
    section = Section(
        id=section_id, title=title, label=label, area=area, article=headline, authors=authors,
        photo_credit=credit, paragraphs=tuple(p.strip() for p in paragraphs), captions=tuple(captions), file=file,
        article_id=article.id if article else headline,
    )
    return section, []


def parse_synonyms(data: Any, file: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """Synonym groups: lists of at least two interchangeable terms."""
    if data is None:
        return [], []
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return [], [f"{file}: field 'groups' is missing or not a list of term lists"]
    problems, result = [], []
    for i, group in enumerate(groups, 1):
        terms = _terms(group)
        if not isinstance(group, list) or len(terms) < 2:
            problems.append(f"{file}: field 'groups' item {i} must list at least two different terms")
            continue
        result.append(terms)
    return result, problems


def _terms(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(t).strip() for t in value
                               if isinstance(t, (str, int)) and not isinstance(t, bool) and visible(str(t))))


def parse_units(data: Any, file: str) -> tuple[list[UnitGroup], list[str]]:
    """Unit groups: ``units`` (as figures are written) and the ``asked`` words that ask for them."""
    if data is None:
        return [], []
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return [], [f"{file}: field 'groups' is missing or not a list of {{units, asked}} mappings"]
    problems: list[str] = []
    result: list[UnitGroup] = []
    seen: dict[str, int] = {}
    known = {PERCENT, *UNITS}
    for i, group in enumerate(groups, 1):
        where = f"{file}: field 'groups' item {i}"
        if not isinstance(group, dict):
            problems.append(f"{where} must be a mapping with 'units' and 'asked'")
            continue
        units, asked = _terms(group.get("units")), _terms(group.get("asked"))
        if not units or not asked:
            problems.append(f"{where} needs non-empty lists 'units' and 'asked'")
            continue
        unknown = [u for u in units if u not in known]
        if unknown:
            problems.append(f"{where}: 'units' {', '.join(unknown)} not among the units figures are read with "
                            f"({' '.join(sorted(known))})")
        for word in asked:
            if word in seen:
                problems.append(f"{where}: 'asked' word '{word}' is also in item {seen[word]}")
            seen[word] = i
        result.append(UnitGroup(units, asked))
    return result, problems


def parse_examples(data: Any, file: str) -> tuple[list[str], list[str]]:
    """Example questions (``questions: [...]``), each short enough for a button."""
    if data is None:
        return [], []
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        return [], [f"{file}: field 'questions' must be a non-empty list of questions"]
    problems = []
    for i, question in enumerate(questions, 1):
        if not isinstance(question, str) or not visible(question):
            problems.append(f"{file}: field 'questions' item {i} is empty or not text")
        elif len(question.strip()) > MAX_EXAMPLE_CHARS:
            problems.append(f"{file}: field 'questions' item {i} is longer than {MAX_EXAMPLE_CHARS} "
                            "characters (it is shown on a button)")
    return ([] if problems else [q.strip() for q in questions]), problems


# ---------------------------------------------------------------------------------------------- loading


def _entries(directory: Path, prefix: str, problems: list[str]) -> list[Path]:
    """The visible entries of ``directory`` sorted by name, or [] with the reason in ``problems``."""
    try:
        return sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        problems.append(f"{prefix or directory}: cannot be listed ({exc.strerror or exc})")
        return []


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.name.endswith(".yaml")
    except OSError:
        return False


def _load_article(folder: Path, problems: list[str]) -> tuple[Article | None, list[Section]]:
    name = folder.name
    readable, data = read_yaml(folder / ARTICLE_FILE, f"{name}/{ARTICLE_FILE}", problems)
    if not readable:
        if not (folder / ARTICLE_FILE).exists():
            problems[-1] = f"{name}/{ARTICLE_FILE}: missing (every article folder needs one: headline, authors)"
        return None, []
    article, errors = parse_article(data, f"{name}/{ARTICLE_FILE}", name)
    problems.extend(errors)
    sections = []
    files = [p for p in _entries(folder, name, problems)
             if p.name.endswith(".yaml") and p.name not in (ARTICLE_FILE, PINS_FILE)]
    if article is not None and not files:
        problems.append(f"{name}: no section files (*.yaml) besides {ARTICLE_FILE}")
    for path in files:
        readable, data = read_yaml(path, f"{name}/{path.name}", problems)
        if readable and article is not None:
            section, errors = parse_section(data, f"{name}/{path.name}", article)
            problems.extend(errors)
            if section is not None:
                sections.append(section)
    return article, sections


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate every article folder (or flat section file) and the vocabulary files."""
    if not directory.is_dir():
        raise KnowledgeError([f"{directory}: knowledge folder not found (setting knowledge_dir)"])
    problems: list[str] = []
    articles: list[Article] = []
    sections: list[Section] = []
    for entry in _entries(directory, "", problems):
        try:
            entry.stat()
        except OSError as exc:  # a symlink loop or a link to nothing: say so, whatever its name
            problems.append(f"{entry.name}: cannot be read ({exc.strerror or exc})")
            continue
        if _is_dir(entry):
            if not os.path.lexists(entry / ARTICLE_FILE) and not any(entry.glob("*.yaml")):
                continue  # not content (e.g. an editor's scratch folder)
            article, found = _load_article(entry, problems)
            if article is not None:
                articles.append(article)
                sections.extend(found)
        elif entry.name.endswith(".yaml") and entry.name not in NON_SECTION_FILES:
            readable, data = read_yaml(entry, entry.name, problems)
            if readable:
                section, errors = parse_section(data, entry.name)
                problems.extend(errors)
                if section is not None:
                    sections.append(section)
                    if all(a.id != section.article_id for a in articles):
                        articles.append(Article(id=section.article_id, headline=section.article,
                                                authors=section.authors, photo_credit=section.photo_credit,
                                                file=entry.name))
    if not sections and not problems:
        problems.append(f"{directory}: no articles (folders with {ARTICLE_FILE} and section files) found")
    articles.sort(key=lambda a: a.order)  # stable: folder-name order among equal orders
    order = {a.id: i for i, a in enumerate(articles)}
    sections.sort(key=lambda s: order.get(s.article_id, len(order)))  # stable: file order within an article
    seen: dict[str, str] = {}
    for section in sections:
        if section.id in seen:
            problems.append(f"{section.file}: field 'id': duplicate id '{section.id}' (also in {seen[section.id]})")
        seen.setdefault(section.id, section.file)
    synonyms = _read_optional(directory / SYNONYMS_FILE, parse_synonyms, problems)
    units = _read_optional(directory / UNITS_FILE, parse_units, problems)
    examples = _read_optional(directory / EXAMPLES_FILE, parse_examples, problems)
    if problems:
        raise KnowledgeError(problems)
    if len(articles) > 1:
        sections = [replace(s, show_article=True) for s in sections]
    return Knowledge(sections, synonyms, units, articles, examples)


def _read_optional(path: Path, parse: Any, problems: list[str]) -> list[Any]:
    """The parsed entries of an optional vocabulary file; [] when it is absent."""
    if not os.path.lexists(path):
        return []
    readable, data = read_yaml(path, path.name, problems)
    if not readable:
        return []
    entries, errors = parse(data, path.name)
    problems.extend(errors)
    return entries


# ---------------------------------------------------------------------------------------------- describing


@dataclass(frozen=True)
class Content:
    """What an index holds of the articles, from the build to the reply: the articles that have sections, in
    order, and their sections. Each article as its sections name it (headline, authors of its first section)."""

    articles: tuple[Article, ...] = ()
    sections: tuple[Section, ...] = ()

    @classmethod
    def of(cls, knowledge: Knowledge) -> Content:
        articles: dict[str, Article] = {}
        for section in knowledge.sections:
            if section.article_id not in articles:
                known = knowledge.article(section.article_id) or Article(id=section.article_id, headline="")
                articles[section.article_id] = replace(known, headline=section.article, authors=section.authors)
        return cls(tuple(articles.values()), tuple(knowledge.sections))

    def sections_of(self, article: Article) -> list[Section]:
        return [s for s in self.sections if s.article_id == article.id]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def content_to_json(content: Content) -> dict[str, Any]:
    """``content`` as JSON data for the index (``content_from_json`` reads it back)."""
    return {"articles": [asdict(a) for a in content.articles], "sections": [asdict(s) for s in content.sections]}


def content_from_json(data: Any) -> Content:
    """The content ``content_to_json`` wrote; KeyError, TypeError or ValueError when it is not that."""
    if not isinstance(data, dict):
        raise TypeError("content is not a JSON object")
    articles = tuple(Article(**{**a, "authors": tuple(a["authors"])}) for a in data["articles"])
    sections = tuple(
        Section(**{**s, "paragraphs": tuple(s["paragraphs"]), "authors": tuple(s["authors"]),
                   "captions": tuple(Caption(**c) for c in s["captions"])})
        for s in data["sections"])
    return Content(articles, sections)


def describe_content(content: Content) -> str:
    """What the bot can answer about, in one line for users: '《A》' or '《A》等 2 篇文章'."""
    headlines = [a.headline for a in content.articles]
    if not headlines:
        return "（没有载入文章）"
    return f"《{headlines[0]}》" if len(headlines) == 1 else f"《{headlines[0]}》等 {len(headlines)} 篇文章"


def citation(headline: str, authors: Sequence[str]) -> str:
    """'《headline》（authors）': how a reply's 出处 names one article."""
    return f"《{headline}》（{' '.join(authors)}）" if authors else f"《{headline}》"


def bot_name(content: Content) -> str:
    """How the bot introduces itself: after its one article, or as a bot for policy articles."""
    articles = content.articles
    return f"《{articles[0].headline}》问答机器人" if len(articles) == 1 else "政策文章问答机器人"
