"""Web pages, from a file or fetched from a URL.

The page is parsed once (trafilatura's loader finds the encoding; many government sites serve GBK), what a
browser never shows as article text is removed (``<noscript>`` notices, iframes, scripts, embedded objects,
event-handler attributes: left in, they make the extractor give up on the page's structure and run the
headline, headings and paragraphs together), and trafilatura keeps the main text (dropping navigation,
footers, share bars) as Markdown, read like a .md file. The article's facts come from the page's meta tags:
``author``, ``article:published_time`` (or the ``PubDate`` of Chinese government sites), ``og:site_name`` (or
``ContentSource``), ``og:url`` or the canonical link, and ``og:title``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import ReadError
from . import MB, Block, Metadata, ReadLimits, author_names, normalized_date, refuse_if_larger
from .text import markdown_blocks

_HIDDEN = ("noscript", "iframe", "frame", "frameset", "object", "embed", "script", "style", "template", "svg",
           "canvas", "video", "audio")
_AUTHOR = ("author", "article:author", "dc.creator")
_DATE = ("article:published_time", "pubdate", "publishdate", "og:published_time", "dc.date", "firstpublishedtime")
_SOURCE = ("contentsource", "og:site_name", "sitename")
_TITLE = ("og:title", "articletitle")
_TITLE_SEPARATORS = ("_", " - ", " | ", "｜", "—")


def _meta(tree: Any) -> Metadata:
    """The article's facts from the page's meta tags (the first of each list of names that is there)."""
    found: dict[str, str] = {}
    for node in tree.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        if name and name not in found and (node.get("content") or "").strip():
            found[name] = node.get("content").strip()

    def first(names: tuple[str, ...]) -> str:
        return next((found[n] for n in names if n in found), "")

    url = found.get("og:url", "")
    for link in tree.iter("link"):
        if not url and "canonical" in (link.get("rel") or "").lower():
            url = (link.get("href") or "").strip()
    title = first(_TITLE)
    if not title:
        node = tree.find(".//title")
        title = (node.text_content() if node is not None else "").strip()
        for separator in _TITLE_SEPARATORS:  # 社区食堂三项举措惠及老年人_市民政局 → the headline alone
            title = title.split(separator)[0].strip() if separator in title else title
    return Metadata(title=title, authors=author_names(first(_AUTHOR)), date=normalized_date(first(_DATE)),
                    source=first(_SOURCE), url=url if url.startswith(("http://", "https://")) else "")


def _without_hidden(tree: Any) -> None:
    """Remove what is never shown as article text, and every event-handler attribute (onerror …)."""
    for node in list(tree.iter(*_HIDDEN)):
        node.drop_tree()
    for node in tree.iter():
        for attribute in [a for a in getattr(node, "attrib", {}) if str(a).lower().startswith("on")]:
            del node.attrib[attribute]


def page_blocks(page: bytes, where: str) -> tuple[Metadata, list[Block]]:
    """Metadata and blocks of an HTML page; ``where`` (file or URL) names it in messages."""
    import trafilatura  # imported here: only `import` of web pages needs it

    tree = trafilatura.load_html(page)
    if tree is None:
        raise ReadError(f"{where}: not an HTML page")
    meta = _meta(tree)
    _without_hidden(tree)
    body = trafilatura.extract(tree, output_format="markdown", include_formatting=True, include_images=True,
                               include_tables=False, favor_recall=True, with_metadata=False)
    if not body or not body.strip():
        raise ReadError(f"{where}: no article text found in the page")
    if "\n\n" not in body.strip():  # the extractor's plain fallback: one line per paragraph
        body = body.replace("\n", "\n\n")
    return meta, markdown_blocks(body)


def read_html(path: Path, limits: ReadLimits) -> tuple[Metadata, list[Block]]:
    refuse_if_larger(path, limits.max_text_mb, "web pages", "import_max_text_mb")
    return page_blocks(path.read_bytes(), str(path))


def fetch_page(url: str, limits: ReadLimits, timeout: float) -> tuple[str, bytes]:
    """The final address and the bytes of a web page (http or https), read while they stay within the size
    limit and ``timeout`` seconds in all; ReadError with the reason otherwise."""
    import httpx  # python-telegram-bot's HTTP client, already installed

    if not url.lower().startswith(("http://", "https://")):
        raise ReadError(f"{url}: only http:// and https:// addresses can be imported")
    limit = int(limits.max_text_mb * MB)
    deadline = time.monotonic() + timeout
    too_large = (f"{url}: the page is larger than the {limits.max_text_mb:g} MB allowed for web pages "
                 "(setting import_max_text_mb); nothing was imported")
    try:
        with httpx.Client(follow_redirects=True, timeout=timeout, max_redirects=5,
                          headers={"User-Agent": "policy-qa-bot-import/1"}) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ReadError(f"{url}: the server answered HTTP {response.status_code}; nothing was imported")
            kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
            if kind not in ("text/html", "application/xhtml+xml", "text/plain", ""):
                raise ReadError(f"{url}: the address gives {kind}, not a web page; download it and import the file")
            if int(response.headers.get("content-length") or 0) > limit:
                raise ReadError(too_large)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ReadError(too_large)
                if time.monotonic() > deadline:
                    raise ReadError(f"{url}: the page took more than {timeout:g} s to arrive "
                                    "(setting import_url_timeout); nothing was imported")
                chunks.append(chunk)
            return str(response.url), b"".join(chunks)
    except httpx.TimeoutException:
        raise ReadError(f"{url}: no answer within {timeout:g} s (setting import_url_timeout); "
                        "nothing was imported") from None
    except httpx.HTTPError as exc:
        raise ReadError(f"{url}: cannot fetch the page ({type(exc).__name__}: {exc}); nothing was imported") from None
