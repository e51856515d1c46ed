"""HTML to readable text. Scripts, styles and navigation go; headings become Markdown ``#`` lines so the
Markdown splitter can cut a web page by its sections as it cuts a .md file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from plait.knowledge.loaders._common import Origin, ParseOptions, decode_text
from plait.schema import Document

if TYPE_CHECKING:
    from bs4.element import PageElement, Tag

_DROP = ("script", "style", "nav", "noscript", "template", "svg", "iframe", "object", "embed", "head")
_BLOCKS = (
    "p", "div", "section", "article", "main", "header", "footer", "aside", "ul", "ol", "table",
    "blockquote", "pre", "figure", "figcaption", "dl", "form", "fieldset", "address", "hr",
    "caption", "details", "summary",
)  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_CELLS = ("td", "th")
_ITEMS = ("li", "dt", "dd")


def _walk(root: Tag) -> Iterator[tuple[PageElement, bool]]:
    """The tree in document order, without recursion (a page can nest tags 100,000 deep): (tag, True) on
    entering a tag and (tag, False) on leaving it, (string, True) for a string. Dropped tags are skipped
    whole, and so are comments, the doctype and processing instructions."""
    from bs4.element import PreformattedString, Tag

    stack = [(root, iter(root.contents))]
    while stack:
        tag, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield tag, False
        elif isinstance(child, Tag):
            if child.name not in _DROP:
                yield child, True
                stack.append((child, iter(child.contents)))
        elif not isinstance(child, PreformattedString):
            yield child, True


class _Page:
    """The text of a page, built in one pass over its tree. Editing the tree in place instead (replacing
    headings, inserting line breaks) made bs4 scan a parent's children on every edit, so a page of 20,000
    paragraphs took minutes.

    A heading becomes a ``#`` line of all the words inside it; a table row becomes ``a | b`` of its cells.
    A cell holds only its own words: those of a cell nested in it (a table in a table, or an unclosed
    ``<td>``) are that cell's, or every nesting level would repeat them all."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.headings: list[dict[str, Any]] = []
        self.pre = 0  # open <pre> tags: text inside keeps its spaces
        self.heading: tuple[Tag, list[str]] | None = None  # the open heading and its words so far
        self.row: tuple[Tag, list[list[str]]] | None = None  # the open table row and its cells' words
        self.cells: list[list[str]] = []  # the row's open cells, innermost last

    def add(self, text: str) -> None:
        if self.heading is not None:
            words = self.heading[1]
        elif self.row is not None:
            words = self.cells[-1] if self.cells else []  # text between cells is dropped
        else:
            self.parts.append(text)
            return
        if text.strip():
            words.append(text.strip())

    def enter(self, tag: Tag) -> None:
        name = tag.name
        self.pre += name == "pre"
        if self.heading is not None:
            return  # inside a heading only words count, a nested heading's too
        if name in _HEADINGS:
            self.heading = (tag, [])
        elif self.row is not None:
            if name in _CELLS:
                self.cells.append([])
                self.row[1].append(self.cells[-1])
        elif name == "tr":
            self.row = (tag, [])
        elif name == "br":
            self.parts.append("\n")
        elif name == "li":
            self.parts.append("- ")
        elif name in _BLOCKS:
            self.parts.append("\n\n" if name == "p" else "\n")

    def leave(self, tag: Tag) -> None:
        name = tag.name
        self.pre -= name == "pre"
        if self.heading is not None:
            if tag is self.heading[0]:
                text = " ".join(self.heading[1])
                self.heading = None
                if text:
                    self.headings.append({"level": _HEADINGS[name], "text": text})
                self.add(f"\n\n{'#' * _HEADINGS[name]} {text}\n\n" if text else "")
        elif self.row is not None:
            if tag is self.row[0]:
                cells = self.row[1]
                self.row = None
                self.add(" | ".join(" ".join(words) for words in cells) + "\n")
            elif name in _CELLS:
                self.cells.pop()
        elif name in _ITEMS:
            self.parts.append("\n")  # one line per item, no blank line between items
        elif name in _BLOCKS:
            self.parts.append("\n\n" if name == "p" else "\n")


def html_to_text(html: str) -> tuple[str, dict[str, Any]]:
    """The page's text with Markdown headings, and its metadata: ``title`` and the ``headings`` outline."""
    from bs4 import BeautifulSoup
    from bs4.element import Tag

    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    page = _Page()
    for node, entering in _walk(soup):
        if not isinstance(node, Tag):
            text = str(node)
            page.add(text if page.pre else _SPACES.sub(" ", text))
        elif entering:
            page.enter(node)
        else:
            page.leave(node)
    lines = (line.strip() for line in "".join(page.parts).split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = title or next((h["text"] for h in page.headings if h["level"] == 1), "")
    return text, {"headings": page.headings} | ({"title": title} if title else {})


def parse_html(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    declared = origin.charset
    if declared is None and (meta := _META_CHARSET.search(data[:4096])):
        declared = meta.group(1).decode("ascii")
    html = decode_text(data, declared)
    if html is None:
        raise origin.corrupt("binary data, not HTML")
    text, metadata = html_to_text(html)
    return [origin.document(text, **metadata)] if text else []
