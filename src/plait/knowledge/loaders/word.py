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


class _HeadingLevels:
    """Heading levels of a document's paragraphs: 0 for the Title style, 1-9 for headings (by style name or
    the style's outline level, looked for up the chain of base styles), else None.

    Styles are read from the XML once, each level worked out once. python-docx finds a style by scanning all
    of them, once per paragraph and again per base style, and a cycle of base styles had this loop forever."""

    def __init__(self, document: Any) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        self._paragraph_type = WD_STYLE_TYPE.PARAGRAPH
        self._styles: dict[str, Any] = {}
        default = None
        for style in document.styles.element.style_lst:
            self._styles.setdefault(style.styleId, style)  # the first of a repeated id wins, as in python-docx
            if style.type == self._paragraph_type and style.default:
                default = style  # the last default wins
        self._default = default
        self._levels: dict[Any, int | None] = {}

    def of(self, paragraph: Any) -> int | None:
        """The paragraph's level, from its style (the default paragraph style without a usable one)."""
        style_id = paragraph._p.style
        style = self._styles.get(style_id) if style_id else None
        if style is None or style.type != self._paragraph_type:
            style = self._default
        chain: dict[Any, None] = {}  # styles looked at, in order; a set that also catches cycles
        level = None
        while style is not None and style not in chain:
            if style in self._levels:
                level = self._levels[style]
                break
            chain[style] = None
            level = _own_level(style)
            if level is not None:
                break
            based_on = style.basedOn
            style = self._styles.get(based_on.val) if based_on is not None else None
        self._levels.update(dict.fromkeys(chain, level))
        return level


def _own_level(style: Any) -> int | None:
    """The level a style sets itself, or None to look at the style it is based on."""
    name = (style.name_val or "").lower()
    if name == "title":
        return 0
    if match := _HEADING_STYLE.fullmatch(name):
        return int(match.group(1))
    properties = style.pPr
    outline = properties.outlineLvl if properties is not None else None
    if outline is not None and outline.val < 9:  # 9 means body text
        return int(outline.val) + 1
    return None


def _table_rows(table: Any) -> Iterator[str]:
    """Each row as ``a | b | c``. A cell spanning several columns counts once, a cell merged down a column
    repeats its text in every row it covers. Worked out from the XML row by row: python-docx repeats a cell
    once per column it spans (a span of two billion columns never ended) and finds a merged cell's text by
    climbing the rows above one recursion at a time (a merge down 3,000 rows overflowed the stack)."""
    from docx.table import _Cell

    above: dict[int, str | None] = {}  # grid column -> text of the cell starting there in the row above
    for tr in table._tbl.tr_lst:
        here: dict[int, str | None] = {}
        cells: list[str] = []
        column = tr.grid_before
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":  # merged with the cell above
                if column not in above:
                    raise ValueError(f"no cell above grid column {column} to merge with")
                text = above[column]
            else:
                text = _Cell(tc, table).text.strip() if tc.grid_span > 0 else None
            here.setdefault(column, text)
            if text is not None and (not cells or cells[-1] != text):  # also a merged cell's repeat
                cells.append(text)
            column += tc.grid_span
        above = here
        yield " | ".join(cells)


def _blocks(document: Any) -> Iterator[tuple[int | None, str]]:
    """(heading level or None, text) for each paragraph and table, in reading order."""
    from docx.table import Table

    levels = _HeadingLevels(document)
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            yield None, "\n".join(_table_rows(item))
        elif item.text.strip():
            yield levels.of(item), item.text.strip()


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
