"""Row-shaped files: CSV/TSV and Excel as one document per row (``column: value`` lines under the header
row), JSON as one document per array element, JSON Lines as one per line. A row is a natural unit of
retrieval: an FAQ pair, a product, a ticket.

``row`` is the row number a spreadsheet shows (the header is row 1); for a CSV that is also the line number
unless a quoted value spans lines.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from plait.knowledge.loaders._common import Origin, ParseOptions, check_archive
from plait.knowledge.loaders.text import read_text
from plait.schema import Document


def _rows_to_documents(
    rows: Iterable[tuple[int, Sequence[str]]], origin: Origin, sheet: str | None = None
) -> list[Document]:
    """The first non-empty row is the header; each later row becomes ``name: value`` lines."""
    header: list[str] | None = None
    documents = []
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() or f"column {i}" for i, cell in enumerate(cells, start=1)]
            continue
        # Named cell by cell: copying the header for every row is quadratic when it is 100,000 columns wide.
        lines = [
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {value.strip()}"
            for i, value in enumerate(cells)
            if value.strip()
        ]
        where = {"sheet": sheet} if sheet is not None else {}
        documents.append(origin.document("\n".join(lines), sheet or "", number, row=number, **where))
    return documents


def parse_csv(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    text = read_text(data, origin)
    delimiter = "\t"
    if origin.file_type != "tsv":
        try:
            delimiter = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        raise origin.corrupt(error) from error
    return _rows_to_documents(enumerate(rows, start=1), origin)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()  # Excel has no date type: a date cell comes back as midnight
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 3 as 3.0
    return str(value)


def parse_xlsx(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    check_archive(data, origin, options)
    documents: list[Document] = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                rows = sheet.iter_rows(values_only=True)
                cells = ((number, [_cell_text(value) for value in row]) for number, row in enumerate(rows, start=1))
                documents.extend(_rows_to_documents(cells, origin, sheet=sheet.title))
        finally:
            workbook.close()
    except (InvalidFileException, KeyError, ValueError, TypeError, OSError, SyntaxError) as error:
        raise origin.corrupt(error) from error
    return documents


def _json_document(value: Any, origin: Origin, options: ParseOptions, **where: int) -> Document | None:
    metadata: dict[str, Any] = dict(where)
    field = options.json_field
    if field is not None and isinstance(value, dict) and field in value:
        metadata["fields"] = {key: item for key, item in value.items() if key != field}
        value = value[field]
    content = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    if not content.strip():
        return None
    return origin.document(content.strip(), *where.values(), **metadata)


def _load_json(text: str, origin: Origin, where: str = "") -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: "[[[[…" nested too deep
        raise origin.corrupt(f"{where}{error}") from error


def parse_json(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    """An array gives one document per element (metadata ``index``, from 0); anything else gives one."""
    value = _load_json(read_text(data, origin), origin)
    if not isinstance(value, list):
        document = _json_document(value, origin, options)
        return [document] if document else []
    documents = (_json_document(item, origin, options, index=index) for index, item in enumerate(value))
    return [document for document in documents if document]


def parse_jsonl(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    """One document per non-blank line (metadata ``line``, from 1)."""
    lines = enumerate(read_text(data, origin).split("\n"), start=1)
    values = ((number, _load_json(text, origin, f"line {number}: ")) for number, text in lines if text.strip())
    documents = (_json_document(value, origin, options, line=number) for number, value in values)
    return [document for document in documents if document]
