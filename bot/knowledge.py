"""Content loading and validation: the YAML files in ``knowledge/`` that editors review.

A malformed file stops the build with a message naming the file and the field, so a maintainer can fix it
without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .figures import PERCENT, UNITS

SYNONYMS_FILE = "synonyms.yaml"
UNITS_FILE = "units.yaml"
EXAMPLES_FILE = "examples.yaml"  # example questions for the Telegram bot's /start, read by bot.telegram_app
NON_SECTION_FILES = frozenset({SYNONYMS_FILE, UNITS_FILE, EXAMPLES_FILE})
# libyaml's parser where PyYAML has it: every build reads every file, and it is ~9× faster (16 → 2 ms here)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(Exception):
    """Content that cannot be used; ``problems`` lists every 'file: field: what is wrong' found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Caption:
    text: str
    credit: str = ""


@dataclass(frozen=True)
class Section:
    """One section of an article: the introduction or one practice sample."""

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

    @property
    def heading(self) -> str:
        """How the section is named to users, e.g. '样本二 · “金融专员”精准助力“扩中”“提低”'."""
        return f"{self.label} · {self.title}" if self.label else self.title


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

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


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
    if required and not text:
        problems.append(f"{where}: field '{key}' is empty")
    return text


def _read_yaml(path: Path, problems: list[str]) -> tuple[bool, Any]:
    """(True, data) or (False, None) with the reason added to ``problems``."""
    try:
        return True, yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except UnicodeDecodeError:
        problems.append(f"{path.name}: not UTF-8 text")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path.name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}")
    return False, None


def parse_section(data: Any, file: str) -> tuple[Section | None, list[str]]:
    """Validate one section mapping; returns the section or the list of problems."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return None, [f"{file}: expected a mapping with id, title, source and paragraphs"]
    section_id = _text(data, "id", file, problems)
    title = _text(data, "title", file, problems)
    label = _text(data, "label", file, problems, required=False)
    area = _text(data, "area", file, problems, required=False)
    source = data.get("source")
    article, authors, credit = "", (), ""
    if not isinstance(source, dict):
        problems.append(f"{file}: field 'source' is missing or not a mapping (needs source.article)")
    else:
        article = _text(source, "article", f"{file}: source", problems)
        credit = _text(source, "photo_credit", f"{file}: source", problems, required=False)
        raw_authors = source.get("authors", [])
        if not isinstance(raw_authors, list) or not all(isinstance(a, str) for a in raw_authors):
            problems.append(f"{file}: field 'source.authors' must be a list of names")
        else:
            authors = tuple(a.strip() for a in raw_authors)
    paragraphs = data.get("paragraphs")
    if not isinstance(paragraphs, list) or not paragraphs:
        problems.append(f"{file}: field 'paragraphs' is missing or empty (the body text is required)")
        paragraphs = []
    for i, p in enumerate(paragraphs, 1):
        if not isinstance(p, str) or not p.strip():
            problems.append(f"{file}: field 'paragraphs' item {i} is empty or not text")
    captions = []
    raw_captions = data.get("captions") or []
    if not isinstance(raw_captions, list):
        problems.append(f"{file}: field 'captions' must be a list")
        raw_captions = []
    for i, c in enumerate(raw_captions, 1):
        if not isinstance(c, dict) or not isinstance(c.get("text"), str) or not c["text"].strip():
            problems.append(f"{file}: field 'captions' item {i} needs a non-empty 'text'")
            continue
        captions.append(Caption(c["text"].strip(), str(c.get("credit") or "").strip()))
    unknown = set(data) - {"id", "title", "label", "area", "source", "paragraphs", "captions"}
    if unknown:
        problems.append(f"{file}: unknown field(s) {', '.join(sorted(unknown))}")
    if problems:
        return None, problems
    section = Section(
        id=section_id, title=title, label=label, area=area, article=article, authors=authors,
        photo_credit=credit, paragraphs=tuple(p.strip() for p in paragraphs), captions=tuple(captions), file=file,
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
        if not isinstance(group, list) or len({str(t).strip() for t in group if str(t).strip()}) < 2:
            problems.append(f"{file}: field 'groups' item {i} must list at least two different terms")
            continue
        result.append(tuple(dict.fromkeys(str(t).strip() for t in group if str(t).strip())))
    return result, problems


def _terms(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(t).strip() for t in value if isinstance(t, (str, int)) and str(t).strip()))


def parse_units(data: Any, file: str) -> tuple[list[UnitGroup], list[str]]:
    """Unit groups: ``units`` (as figures are written) and the ``asked`` words that ask for them."""
    if data is None:
        return [], []
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return [], [f"{file}: field 'groups' is missing or not a list of {{units, asked}} mappings"]
    problems, result, seen = [], [], {}
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


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate every ``*.yaml`` section file plus ``synonyms.yaml`` and ``units.yaml``
    (``examples.yaml`` is not content)."""
    if not directory.is_dir():
        raise KnowledgeError([f"{directory}: knowledge folder not found (setting knowledge_dir)"])
    problems: list[str] = []
    sections: list[Section] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in directory.glob("*.yaml") if p.name not in NON_SECTION_FILES)
    if not files:
        problems.append(f"{directory}: no section files (*.yaml) found")
    for path in files:
        readable, data = _read_yaml(path, problems)
        if not readable:
            continue
        section, errors = parse_section(data, path.name)
        problems.extend(errors)
        if section is None:
            continue
        if section.id in seen:
            problems.append(f"{path.name}: field 'id': duplicate id '{section.id}' (also in {seen[section.id]})")
            continue
        seen[section.id] = path.name
        sections.append(section)
    synonyms = _read_optional(directory / SYNONYMS_FILE, parse_synonyms, problems)
    units = _read_optional(directory / UNITS_FILE, parse_units, problems)
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(sections, synonyms, units)


def _read_optional(path: Path, parse: Any, problems: list[str]) -> list[Any]:
    """The parsed entries of an optional vocabulary file (synonyms, units); [] when it is absent."""
    if not path.exists():
        return []
    readable, data = _read_yaml(path, problems)
    if not readable:
        return []
    entries, errors = parse(data, path.name)
    problems.extend(errors)
    return entries
