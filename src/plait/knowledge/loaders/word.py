"""Word (.docx): one document per heading section, with its ``heading_path``, so a chunk knows which
chapter it came from without the splitter guessing. Tables become ``a | b | c`` lines in reading order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from plait.knowledge.loaders._common import Origin, ParseOptions, check_archive
from plait.schema import Document

_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*([1-9])")


def _heading_level(paragraph: Any) -> int | None:
    """0 for the Title style, 1-9 for headings (by style name or the style's outline level), else None."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").lower()
        if name == "title":
            return 0
        if match := _HEADING_STYLE.fullmatch(name):
            return int(match.group(1))
        properties = style.element.pPr
        outline = properties.outlineLvl if properties is not None else None
        if outline is not None and outline.val < 9:  # 9 means body text
            return int(outline.val) + 1
        style = style.base_style
    return None


def _blocks(document: Any) -> Iterator[tuple[int | None, str]]:
    """(heading level or None, text) for each paragraph and table, in reading order."""
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = cell.text.strip()
                    if not cells or cells[-1] != text:  # a merged cell repeats in every column it spans
                        cells.append(text)
                rows.append(" | ".join(cells))
            yield None, "\n".join(rows)
        elif item.text.strip():
            yield _heading_level(item), item.text.strip()


def parse_docx(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_archive(data, origin, options)
    try:
        blocks = list(_blocks(docx.Document(BytesIO(data))))
    except (PackageNotFoundError, KeyError, ValueError, AttributeError, SyntaxError) as error:  # XML errors too
        raise origin.corrupt(error) from error
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    stack: list[tuple[int, str]] = []
    for level, text in blocks:
        if level is None:
            sections[-1][1].append(text)
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        sections.append(([t for _, t in stack], [text]))
    # A heading with nothing under it lives on in its subsections' heading paths.
    kept = [s for s in sections if len(s[1]) > (1 if s[0] else 0)] or [s for s in sections if s[1]]
    return [
        origin.document("\n\n".join(lines), number, heading_path=path, section=number)
        for number, (path, lines) in enumerate(kept, start=1)
    ]
