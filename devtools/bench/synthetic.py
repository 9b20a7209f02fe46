"""Synthetic knowledge bases of a chosen size, made from the real article, for the scale benchmark.

Real content is one article (a few dozen passages); the bot has to stay fast when editors load hundreds of
articles. This module writes knowledge folders of any passage count that look like the real thing to
every part of the pipeline: the real article's sentences, shuffled across samples and varied (numbers
changed with their format kept, Wenzhou place names swapped for other Zhejiang counties, quoted programme
names recombined), packed into section files of 5-20 paragraphs that the normal loader validates.
Generated questions come with them, so queries hit the same vocabulary the passages use.

Everything is seeded: the same size and seed give the same files.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.chunking import chunk_section, split_sentences
from bot.knowledge import SYNONYMS_FILE, Knowledge, Section, load_knowledge

# Zhejiang's county-level divisions (short forms where the long form is the usual way to say it).
ZHEJIANG_COUNTIES = (
    "上城 拱墅 西湖 滨江 萧山 余杭 临平 钱塘 富阳 临安 桐庐 淳安 建德 "
    "海曙 江北 北仑 镇海 鄞州 奉化 象山 宁海 余姚 慈溪 "
    "鹿城 龙湾 瓯海 洞头 永嘉 平阳 苍南 文成 泰顺 瑞安 乐清 龙港 "
    "南湖 秀洲 嘉善 海盐 海宁 平湖 桐乡 吴兴 南浔 德清 长兴 安吉 "
    "越城 柯桥 上虞 新昌 诸暨 嵊州 婺城 金东 武义 浦江 磐安 兰溪 义乌 东阳 永康 "
    "柯城 衢江 常山 开化 龙游 江山 定海 普陀 岱山 嵊泗 "
    "椒江 黄岩 路桥 三门 天台 仙居 温岭 临海 玉环 莲都 青田 缙云 遂昌 松阳 云和 庆元 景宁 龙泉"
).split()
ZHEJIANG_CITIES = "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水".split()
# Place names of the real article that get swapped.
_ARTICLE_PLACES = ("温州", "瑞安", "乐清", "苍南", "永嘉", "平阳", "文成", "泰顺", "洞头", "鹿城", "龙湾", "瓯海", "龙港")
_PLACE = re.compile("|".join(_ARTICLE_PLACES))
_QUOTED = re.compile(r"“([^”]{2,12})”")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_FIGURE_TEXT = re.compile(r"(?:超过|超|近|约|逾)?\d+(?:\.\d+)?[%多余十百千万亿]*(?:人次|[元人名家个册户位届秒倍年项村县亿])?")
_CLAUSE = re.compile(r"[,，。；;！!？?、:：]")
# Pieces for programme names such as “共富工坊”, “安心驿站”.
_NAME_HEADS = "共富 安心 幸福 温馨 暖心 智慧 数字 绿色 红色 蓝色 阳光 和美 善育 乐享 优享 清廉 平安 未来 强村 兴农".split()
_NAME_TAILS = "工坊 驿站 书房 专员 工程 联盟 客厅 学堂 食堂 服务站 直通车 共同体 一件事 码 贷 行动 计划 品牌".split()
_GOALS = "促进共同富裕 推动乡村振兴 提升公共服务 扩大中等收入群体 助力山区跨越 改善人居环境 激活基层治理 守护群众健康".split()
_QUESTION_TAILS = ("是多少", "有多少", "怎么样", "是什么情况", "有哪些做法", "多少钱", "取得了什么成效")


@dataclass
class SyntheticCorpus:
    directory: Path
    passages: int
    sections: int
    paragraphs: int
    questions: list[str]


def _vary_number(match: re.Match[str], rng: random.Random) -> str:
    """Another number of the same shape: same digit count and decimals (15.2 → 37.9, 2021 stays a year)."""
    text = match.group(0)
    if re.fullmatch(r"20[0-3]\d", text):  # years stay plausible
        return str(rng.randint(2015, 2023))
    if match.string[match.end():match.end() + 1] == "%":  # so do shares
        return str(rng.randint(1, 99)) + (f".{rng.randint(0, 9)}" if "." in text else "")
    whole, _, decimals = text.partition(".")
    low = 10 ** (len(whole) - 1) if len(whole) > 1 else 1
    number = str(rng.randint(low, 10 ** len(whole) - 1))
    if decimals:
        number += "." + "".join(rng.choice("0123456789") for _ in decimals)
    return number


class Generator:
    """Varies the sentences of a real knowledge base into new sections."""

    def __init__(self, knowledge: Knowledge, seed: int = 0, max_chars: int = 160) -> None:
        self.rng = random.Random(seed)
        self.max_chars = max_chars
        real = [s for s in knowledge.sections if s.paragraphs]
        self.sentences = [s for section in real for p in section.paragraphs for s in split_sentences(p)]
        if not self.sentences:
            raise ValueError("the knowledge base has no sentences to vary")
        # sentences that always make exactly one passage, to hit a passage count exactly
        self.short = [s for s in self.sentences if len(s.strip()) <= max_chars] or ["温州市持续推进民生实事项目。"]
        self.titles = [s.title for s in real]
        self.areas = sorted({s.area for s in real if s.area}) or ["共同富裕先行示范"]
        self.article = real[0].article if real else "合成测试语料"
        self.names = sorted({m for s in self.sentences for m in _QUOTED.findall(s)})

    def _name(self) -> str:
        rng = self.rng
        if self.names and rng.random() < 0.3:
            return rng.choice(self.names)
        return rng.choice(_NAME_HEADS) + rng.choice(_NAME_TAILS)

    def vary(self, sentence: str, places: dict[str, str]) -> str:
        """One sentence with its numbers, places and programme names changed."""
        rng = self.rng
        text = _NUMBER.sub(lambda m: _vary_number(m, rng), sentence)
        text = _PLACE.sub(lambda m: places[m.group(0)], text)
        return _QUOTED.sub(lambda m: f"“{self._name()}”" if rng.random() < 0.6 else m.group(0), text)

    def _places(self) -> dict[str, str]:
        """A consistent renaming for one section: the city and each county of the article get a new name."""
        rng = self.rng
        mapping = {place: rng.choice(ZHEJIANG_COUNTIES) for place in _ARTICLE_PLACES}
        mapping["温州"] = rng.choice(ZHEJIANG_CITIES)
        return mapping

    def paragraph(self, places: dict[str, str]) -> str:
        count = self.rng.randint(2, 6)
        return "".join(self.vary(s, places).strip() for s in self.rng.sample(self.sentences, min(count, len(self.sentences))))

    def section(self, number: int, budget: int) -> tuple[Section, int]:
        """A section of 5-20 paragraphs with at most ``budget`` passages; returns it and its passage count."""
        rng = self.rng
        places = self._places()
        title = _PLACE.sub(lambda m: places[m.group(0)], rng.choice(self.titles))
        title = _QUOTED.sub(lambda m: f"“{self._name()}”", title)
        if rng.random() < 0.5:
            title = f"{places['温州']}{self._name()}{rng.choice(_GOALS)}"
        paragraphs: list[str] = []
        passages = 0
        target = rng.randint(5, 20)
        while len(paragraphs) < target and passages < budget:
            text = self.paragraph(places)
            count = self._count(text)
            if passages + count > budget:  # fill up exactly with one-passage paragraphs
                text = self.vary(rng.choice(self.short), places).strip()
                count = self._count(text)
                if passages + count > budget:
                    break
            paragraphs.append(text)
            passages += count
        section = Section(id=f"g{number:06d}", title=title, paragraphs=tuple(paragraphs), article=self.article,
                          authors=("合成",), label=f"样本{number}", area=rng.choice(self.areas))
        return section, passages

    def _count(self, paragraph: str) -> int:
        probe = Section(id="probe", title="t", paragraphs=(paragraph,), article="a")
        return len(chunk_section(probe, self.max_chars))

    def question(self, text: str) -> str:
        """A question about a passage: a fragment of one of its sentences plus a question ending."""
        rng = self.rng
        clauses = [c for c in _CLAUSE.split(_FIGURE_TEXT.sub("", text)) if len(c) >= 6] or [text]
        core = rng.choice(clauses).replace("“", "").replace("”", "")[:rng.randint(8, 16)]
        return core + rng.choice(_QUESTION_TAILS)


def section_yaml(section: Section) -> str:
    data = {"id": section.id, "label": section.label, "title": section.title, "area": section.area,
            "source": {"article": section.article, "authors": list(section.authors)},
            "paragraphs": list(section.paragraphs)}
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                     sort_keys=False, width=10_000)


def generate(knowledge_dir: Path, out_dir: Path, passages: int, seed: int = 0, max_chars: int = 160,
             questions: int = 150) -> SyntheticCorpus:
    """Write a knowledge folder of exactly ``passages`` passages (at ``max_chars``) into ``out_dir``."""
    knowledge = load_knowledge(knowledge_dir)
    generator = Generator(knowledge, seed, max_chars)
    out_dir.mkdir(parents=True, exist_ok=True)
    synonyms = knowledge_dir / SYNONYMS_FILE
    if synonyms.exists():
        shutil.copyfile(synonyms, out_dir / SYNONYMS_FILE)
    total = sections = paragraphs = 0
    sampled: list[str] = []
    while total < passages:
        sections += 1
        section, count = generator.section(sections, passages - total)
        if not section.paragraphs:
            continue
        (out_dir / f"{section.id}.yaml").write_text(section_yaml(section), encoding="utf-8")
        total += count
        paragraphs += len(section.paragraphs)
        sampled.append(generator.rng.choice(section.paragraphs))
    picks = [generator.rng.choice(sampled) for _ in range(questions)] if sampled else []
    return SyntheticCorpus(out_dir, total, sections, paragraphs, [generator.question(p) for p in picks])
