"""Telegram's HTML subset as the Bot API parses ``parse_mode=HTML`` text: plain text and message entities, or
the "can't parse entities" error Telegram answers. Public so bot code and tests can check their formatting
offline."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .limits import JSONDict


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for text limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}
_SUPPORTED_TAGS = frozenset(_SIMPLE_TAGS) | {"span", "a", "blockquote", "tg-emoji"}
_TAG_NAME_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_ATTR_RE = re.compile(
    r"""\s+([A-Za-z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
_TAG_END_RE = re.compile(r"\s*>")
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|(lt|gt|amp|quot));")
_UNKNOWN_ENTITY_RE = re.compile(r"&#?[A-Za-z0-9]+;")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HTMLParseError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"; the message says where."""


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8"))


def _decode_entity(html: str, index: int) -> tuple[str, int]:
    """Decode the HTML entity at ``index``; returns the character and the index after it."""
    match = _ENTITY_RE.match(html, index)
    if not match:
        if unknown := _UNKNOWN_ENTITY_RE.match(html, index):
            raise HTMLParseError(
                f'Unsupported HTML entity "{unknown[0]}" at byte offset {_byte_offset(html, index)}'
            )
        raise HTMLParseError(
            f'Character "&" is reserved and must be escaped as "&amp;" '
            f"(byte offset {_byte_offset(html, index)})"
        )
    decimal, hexadecimal, name = match.groups()
    if name:
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code == 0:
        raise HTMLParseError(
            f"Invalid numeric HTML entity at byte offset {_byte_offset(html, index)}"
        )
    return chr(code), match.end()


def _unescape_attribute(value: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "&":
            char, index = _decode_entity(value, index)
            out.append(char)
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    offset: int
    entity: JSONDict | None


def _entity_for_tag(name: str, attrs: dict[str, str], html: str, index: int) -> JSONDict | None:
    """The message entity a start tag opens (None for a link without href)."""
    where = f"byte offset {_byte_offset(html, index)}"
    if name in _SIMPLE_TAGS:
        entity: JSONDict = {"type": _SIMPLE_TAGS[name]}
        language = attrs.get("class", "")
        if name == "code" and language.startswith("language-"):
            entity["language"] = language.removeprefix("language-")
        return entity
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise HTMLParseError(f'Tag "span" must have class "tg-spoiler" at {where}')
        return {"type": "spoiler"}
    if name == "a":
        return {"type": "text_link", "url": attrs["href"]} if attrs.get("href") else None
    if name == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if "emoji-id" not in attrs:  # tg-emoji
        raise HTMLParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at {where}')
    return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}


def parse_telegram_html(html: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram's HTML subset into (plain text, message entities) or raise HTMLParseError.

    Follows https://core.telegram.org/bots/api#html-style: only the documented tags, balanced
    and properly nested; every ``<``, ``>`` and ``&`` outside a tag must be an entity (&lt; &gt;
    &amp; &quot; or numeric). Entity offsets and lengths are in UTF-16 code units. Public so bot
    code and tests can check their formatting offline.
    """
    text: list[str] = []
    length = 0  # UTF-16 length of the text so far
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    index = 0
    while index < len(html):
        char = html[index]
        if char == "&":
            decoded, index = _decode_entity(html, index)
            text.append(decoded)
            length += utf16_len(decoded)
        elif char == ">":
            raise HTMLParseError(
                f'Character ">" is reserved and must be escaped as "&gt;" '
                f"(byte offset {_byte_offset(html, index)})"
            )
        elif char == "<":
            index = _parse_tag(html, index, length, stack, entities)
        else:
            end = index + 1
            while end < len(html) and html[end] not in "<>&":
                end += 1
            chunk = html[index:end]
            text.append(chunk)
            length += utf16_len(chunk)
            index = end
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities


def _parse_tag(
    html: str, index: int, length: int, stack: list[_OpenTag], entities: list[JSONDict]
) -> int:
    """Handle the tag starting at ``index``; returns the index after it."""
    where = f"byte offset {_byte_offset(html, index)}"
    name_match = _TAG_NAME_RE.match(html, index)
    if not name_match:
        raise HTMLParseError(
            f'Character "<" is reserved and must be escaped as "&lt;" ({where})'
        )
    closing, name = name_match.group(1) == "/", name_match.group(2).lower()
    if name not in _SUPPORTED_TAGS:
        kind = "end" if closing else "start"
        raise HTMLParseError(f'Unsupported {kind} tag "{name}" at {where}')
    attrs: dict[str, str] = {}
    position = name_match.end()
    while attr := _ATTR_RE.match(html, position):
        value = next((v for v in attr.groups()[1:] if v is not None), "")
        attrs[attr.group(1).lower()] = _unescape_attribute(value)
        position = attr.end()
    end = _TAG_END_RE.match(html, position)
    if not end:
        raise HTMLParseError(f"Unclosed {'end' if closing else 'start'} tag at {where}")
    if not closing:
        stack.append(_OpenTag(name, length, _entity_for_tag(name, attrs, html, index)))
        return end.end()
    if not stack or stack[-1].name != name:
        expected = f'expected "</{stack[-1].name}>", ' if stack else ""
        raise HTMLParseError(f'Unmatched end tag at {where}, {expected}found "</{name}>"')
    opened = stack.pop()
    entity = opened.entity
    if name == "code" and stack and stack[-1].name == "pre" and stack[-1].entity is not None:
        # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
        if entity and "language" in entity:
            stack[-1].entity["language"] = entity["language"]
        entity = None
    if entity is not None and length > opened.offset:
        entities.append({**entity, "offset": opened.offset, "length": length - opened.offset})
    return end.end()
