"""The staff's report as text for a terminal: totals, unanswered and down-voted questions, comments.

What users wrote is shown one entry per line, with control characters escaped: an escape sequence, a bell
or a bidirectional override in a question or a reason would otherwise act on the editor's terminal, and a
newline would split an entry into lines that look like others.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..text import shortened
from .store import DOWN_REASONS

# characters that reorder the text around them (Trojan-source style) although they are not controls
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
EXCERPT_CHARS = 60  # of a shown answer, in the report
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` on one line as typed: spaces kept, controls (C0, C1, DEL), line and paragraph separators and
    bidirectional overrides shown as escapes (\\n, \\x1b, \\u202e)."""
    shown = []
    for character in text.strip():
        if character in _NAMED:
            shown.append(_NAMED[character])
        elif unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI:
            code = ord(character)
            shown.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            shown.append(character)
    return "".join(shown)


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to ``width`` terminal columns (Chinese characters and emoji take two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    padding = " " * max(0, width - columns)
    return padding + text if right else text + padding


def format_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal: totals, then the lists, one line per entry."""
    totals = report["totals"]
    period = f"最近 {report['days']} 天" if report["days"] else "全部记录"
    share = f"{totals['answered_share']:.0%}" if totals["answered_share"] is not None else "—"
    lines = [
        f"问答反馈报告（{period}）",
        f"问题 {totals['questions']} 个，已回答 {totals['answered']}（{share}），未回答 {totals['abstained']}；"
        f"👍 {totals['up']}  👎 {totals['down']}",
        "",
        "未回答的问题（最常见的在前）：",
    ]
    if report["unanswered"]:
        lines.append(f"  {_pad('次数', 6, right=True)}  {_pad('最近提问 (UTC)', 19)}  问题")
        for row in report["unanswered"]:
            reason = "（文中无此数字）" if row["reason"] == "no_figure" else ""
            lines.append(f"  {_pad(str(row['count']), 6, right=True)}  {_pad(row['last_asked'], 19)}  "
                         f"{one_line(row['question'])}{reason}{_reviewed(row)}")
            lines += _candidates(row)
    else:
        lines.append("  （没有）")
    lines += ["", "被点 👎 的问题（最多的在前）："]
    if report["downvoted"]:
        lines.append(f"  {_pad('👎', 4, right=True)}  {_pad('👍', 4, right=True)}  {_pad('最近提问 (UTC)', 19)}  "
                     "问题 → 回答（旧记录：段落）")
        for row in report["downvoted"]:
            passages = "、".join(one_line(p) for p in row["passages"])
            excerpt = shortened(one_line(" ".join((row.get("shown") or "").split())), EXCERPT_CHARS)
            shown = f"“{excerpt}”" if row.get("shown") else passages or "—"
            lines.append(f"  {_pad(str(row['down']), 4, right=True)}  {_pad(str(row['up']), 4, right=True)}  "
                         f"{_pad(row['last_asked'], 19)}  {one_line(row['question'])} → {shown}{_reviewed(row)}")
            for why in row.get("reasons", []):
                said = " · ".join(part for part in (DOWN_REASONS.get(why["reason"], ""), one_line(why["text"]))
                                  if part)
                lines.append(f"  {'':28}  哪里不对：{said}")
            lines += _candidates(row)
    else:
        lines.append("  （没有）")
    lines += ["", "内容缺口（审阅时标为“都不合适”，最新的在前）："]
    lines += [f"  {_pad(g['reviewed_at'], 19)}  {one_line(g['question'])}" for g in report.get("gaps", [])] \
        or ["  （没有）"]
    lines += ["", "留言（/feedback，最新的在前）："]
    if report.get("comments"):
        lines += [f"  {_pad(c['sent_at'], 19)}  {one_line(c['text'])}" for c in report["comments"]]
    else:
        lines.append("  （没有）")
    return "\n".join(lines)


_REVIEWED = {"pinned": "（已固定到段落）", "none_fits": "（已审阅：内容缺口）"}


def _reviewed(row: dict[str, Any]) -> str:
    return _REVIEWED.get(row.get("reviewed") or "", "")


def _candidates(row: dict[str, Any]) -> list[str]:
    """The candidate passages of a row (bot.review), each with the command that pins the question to it."""
    lines = []
    for number, candidate in enumerate(row.get("candidates", []), 1):
        lines.append(f"  {'':8}候选 {number}：{candidate['id']}  {one_line(candidate['heading'])}  "
                     f"“{candidate['start']}”")
        lines.append(f"  {'':8}  {one_line(candidate['command'])}")
    return lines

