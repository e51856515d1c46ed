"""Plain text and Markdown. A Markdown file stays one document; its heading outline goes to metadata and
``markdown_sections`` (used by the Markdown splitter) cuts it by headings, ignoring ``#`` lines in code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from plait.knowledge.loaders._common import Origin, ParseOptions, decode_text
from plait.schema import Document

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _heading(line: str) -> tuple[int, str] | None:
    """The level and text of an ATX heading line (``## Text ##``), else None. String methods rather than a
    regex: the lazy text group before optional closing ``#``s rescans a run of spaces from every character
    before it, so one line of 100,000 spaces took minutes."""
    marks = line.lstrip(" ")
    if len(line) - len(marks) > 3:
        return None
    rest = marks.lstrip("#")
    level = len(marks) - len(rest)
    if not 1 <= level <= 6 or rest[:1] not in ("", " ", "\t"):
        return None
    text = rest.strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed[-1:] in (" ", "\t"):  # closing #s count only after a space: "# C#" keeps its "#"
        text = unclosed
    return level, text.strip()


def read_text(data: bytes, origin: Origin) -> str:
    text = decode_text(data, origin.charset)
    if text is None:
        raise origin.corrupt("binary data, not text in any known encoding")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_txt(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    text = read_text(data, origin)
    return [origin.document(text)] if text.strip() else []


@dataclass(frozen=True, slots=True)
class MarkdownSection:
    """A heading and the text up to the next heading; ``level`` 0 is the text before the first heading."""

    heading_path: tuple[str, ...]
    level: int
    heading_line: str
    body: str


def markdown_sections(text: str) -> list[MarkdownSection]:
    """Cut Markdown at ATX headings (``#`` to ``######``), keeping each section's heading path."""
    sections: list[MarkdownSection] = []
    path: list[tuple[int, str]] = []
    heading_line, level = "", 0
    body: list[str] = []
    fence = ""

    def close() -> None:
        if heading_line or "".join(body).strip():
            sections.append(MarkdownSection(tuple(t for _, t in path), level, heading_line, "".join(body)))

    for line in text.splitlines(keepends=True):
        opener = _FENCE.match(line)
        if fence:
            marker = opener.group(1) if opener else ""
            if marker[:1] == fence[0] and len(marker) >= len(fence) and not line.strip().lstrip(fence[0]):
                fence = ""
            body.append(line)
            continue
        if opener:
            fence = opener.group(1)
            body.append(line)
            continue
        heading = _heading(line.rstrip("\n"))
        if heading is None:
            body.append(line)
            continue
        close()
        level, title = heading
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
        heading_line, body = line, []
    close()
    return sections


def parse_markdown(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    text = read_text(data, origin)
    if not text.strip():
        return []
    headings = [
        {"level": section.level, "text": section.heading_path[-1]}
        for section in markdown_sections(text)
        if section.level
    ]
    title = next((h["text"] for h in headings if h["level"] == 1), None)
    metadata = {"headings": headings} | ({"title": title} if title else {})
    return [origin.document(text, **metadata)]
