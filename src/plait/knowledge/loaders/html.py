"""HTML to readable text. Scripts, styles and navigation go; headings become Markdown ``#`` lines so the
Markdown splitter can cut a web page by its sections as it cuts a .md file."""

from __future__ import annotations

import re
from typing import Any

from plait.knowledge.loaders._common import Origin, ParseOptions, decode_text
from plait.schema import Document

_DROP = ("script", "style", "nav", "noscript", "template", "svg", "iframe", "object", "embed", "head")
_BLOCKS = (
    "p", "div", "section", "article", "main", "header", "footer", "aside", "ul", "ol", "table",
    "blockquote", "pre", "figure", "figcaption", "dl", "form", "fieldset", "address", "hr",
    "caption", "details", "summary",
)  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def html_to_text(html: str) -> tuple[str, dict[str, Any]]:
    """The page's text with Markdown headings, and its metadata: ``title`` and the ``headings`` outline."""
    from bs4 import BeautifulSoup
    from bs4.element import PreformattedString

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for markup in soup.find_all(string=lambda node: isinstance(node, PreformattedString)):
        markup.extract()  # comments, the doctype, processing instructions
    for node in soup.find_all(string=True):
        if node.find_parent("pre") is None:
            node.replace_with(_SPACES.sub(" ", str(node)))
    headings: list[dict[str, Any]] = []
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        text = tag.get_text(" ", strip=True)
        level = int(tag.name[1])
        if text:
            headings.append({"level": level, "text": text})
        tag.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "")
    for row in soup.find_all("tr"):
        cells = [cell.get_text(" ", strip=True) for cell in row.find_all(("td", "th"))]
        row.replace_with(" | ".join(cells) + "\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for item in soup.find_all(("li", "dt", "dd")):
        item.insert(0, "- " if item.name == "li" else "")
        item.insert_after("\n")  # one line per item, no blank line between items
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n\n" if block.name == "p" else "\n")
        block.insert_after("\n\n" if block.name == "p" else "\n")
    lines = (line.strip() for line in soup.get_text().split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = title or next((h["text"] for h in headings if h["level"] == 1), "")
    return text, {"headings": headings} | ({"title": title} if title else {})


def parse_html(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    declared = origin.charset
    if declared is None and (meta := _META_CHARSET.search(data[:4096])):
        declared = meta.group(1).decode("ascii")
    html = decode_text(data, declared)
    if html is None:
        raise origin.corrupt("binary data, not HTML")
    text, metadata = html_to_text(html)
    return [origin.document(text, **metadata)] if text else []
