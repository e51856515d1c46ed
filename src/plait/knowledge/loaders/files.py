"""Files and uploads: pick the parser by extension (or by content when there is none), enforce the size
limit before reading, and parse in a worker thread so the event loop never blocks on a 300-page PDF."""

from __future__ import annotations

import asyncio
import json
import os
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path, PurePath

from plait.knowledge.errors import EmptyDocument, KnowledgeError, UnsupportedFileType
from plait.knowledge.loaders._common import DEFAULT_MAX_BYTES, Origin, ParseOptions, decode_text, too_large
from plait.knowledge.loaders.html import parse_html
from plait.knowledge.loaders.pdf import parse_pdf
from plait.knowledge.loaders.records import parse_csv, parse_json, parse_jsonl, parse_xlsx
from plait.knowledge.loaders.text import parse_markdown, parse_txt
from plait.knowledge.loaders.word import parse_docx
from plait.schema import Document

Parser = Callable[[bytes, Origin, ParseOptions], list[Document]]

PARSERS: dict[str, Parser] = {
    "txt": parse_txt,
    "markdown": parse_markdown,
    "html": parse_html,
    "pdf": parse_pdf,
    "docx": parse_docx,
    "csv": parse_csv,
    "tsv": parse_csv,
    "xlsx": parse_xlsx,
    "json": parse_json,
    "jsonl": parse_jsonl,
}
EXTENSIONS: dict[str, str] = {
    ".txt": "txt", ".text": "txt", ".log": "txt",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf", ".docx": "docx",
    ".csv": "csv", ".tsv": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}  # fmt: skip
SUPPORTED_EXTENSIONS = tuple(sorted(EXTENSIONS))


def unsupported(source: str, what: str) -> UnsupportedFileType:
    return UnsupportedFileType(f"{source}: {what} is not supported; supported: {', '.join(SUPPORTED_EXTENSIONS)}")


def type_for_name(file_name: str, source: str) -> str | None:
    """The file type its extension names, None without an extension, UnsupportedFileType for any other."""
    suffix = PurePath(file_name).suffix.lower()
    if not suffix:
        return None
    if suffix not in EXTENSIONS:
        raise unsupported(source, f"file type {suffix!r}")
    return EXTENSIONS[suffix]


def sniff(data: bytes) -> str | None:
    """Guess a file type from content: PDF and Office by signature, then HTML, JSON or plain text."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        return "docx" if "word/document.xml" in names else "xlsx" if "xl/workbook.xml" in names else None
    text = decode_text(data)
    if text is None:
        return None
    head = text.lstrip()[:512].lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head:
        return "html"
    if head.startswith(("{", "[")):
        try:
            json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep to parse
            return "txt"
        return "json"
    return "txt"


def parse_document(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    """Run the parser for ``origin.file_type``; no text at all is an EmptyDocument, never ``[]``."""
    if not data:
        raise EmptyDocument(f"{origin.source}: the file is empty (0 bytes)")
    documents = PARSERS[origin.file_type](data, origin, options)
    if not documents:
        raise EmptyDocument(f"{origin.source}: no text found in this {origin.file_type} file")
    return documents


def parse_bytes(data: bytes, *, source: str, file_name: str, max_bytes: int, options: ParseOptions) -> list[Document]:
    if len(data) > max_bytes:
        raise too_large(source, max_bytes, len(data))
    file_type = type_for_name(file_name, source)
    if file_type is None and data:
        file_type = sniff(data)
        if file_type is None:
            raise unsupported(source, "a file without an extension whose content is not recognised")
    origin = Origin(source=source, file_name=file_name, file_type=file_type or "txt")
    return parse_document(data, origin, options)


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(str(path), max_bytes, size)
        with path.open("rb") as file:
            return file.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as error:
        raise KnowledgeError(f"{path}: cannot read the file: {error.strerror or error}") from error


def _load_file(path: Path, max_bytes: int, options: ParseOptions) -> list[Document]:
    type_for_name(path.name, str(path))  # refuse an unsupported extension before reading anything
    data = _read_file(path, max_bytes)
    return parse_bytes(data, source=str(path), file_name=path.name, max_bytes=max_bytes, options=options)


async def load_file(
    path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, options: ParseOptions | None = None
) -> list[Document]:
    """Documents from a file on disk, with ``source`` set to the path as given."""
    return await asyncio.to_thread(_load_file, Path(path), max_bytes, options or ParseOptions())


async def load_bytes(
    data: bytes,
    file_name: str,
    *,
    source: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    options: ParseOptions | None = None,
) -> list[Document]:
    """Documents from an upload; ``source`` defaults to the file name."""
    return await asyncio.to_thread(
        parse_bytes,
        data,
        source=source or file_name,
        file_name=file_name,
        max_bytes=max_bytes,
        options=options or ParseOptions(),
    )


class FileLoader:
    """The ``Loader`` protocol over ``load_file``, for pipelines that take a loader object."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, options: ParseOptions | None = None) -> None:
        self.max_bytes = max_bytes
        self.options = options or ParseOptions()

    async def load(self, source: str | os.PathLike[str]) -> list[Document]:
        return await load_file(source, max_bytes=self.max_bytes, options=self.options)
