"""Streaming multipart reading for uploads: Starlette's ``request.form()`` spools a whole file before the
handler runs, so a size limit could only be checked afterwards; here each chunk reaches a sink as it arrives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from plait.platform import BodyTooLarge, InvalidParams, Principal, files
from plait.platform.files import FileRecord
from plait.platform.unit_of_work import UnitOfWork
from plait.settings import Settings

if TYPE_CHECKING:  # defined only for type checkers
    from python_multipart.multipart import MultipartCallbacks

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers allowed on top of the file in Content-Length


@dataclass(slots=True)
class _Part:
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    wanted: bool = False


@dataclass(slots=True)
class UploadedPart:
    file_name: str
    content_type: str


async def read_file_part(request: Request, name: str, sink: Callable[[bytes], None], max_bytes: int) -> UploadedPart:
    """Feed the bytes of the first part called ``name`` to ``sink``, skipping other parts; return its file
    name and content type. A declared Content-Length that cannot fit under ``max_bytes`` fails up front."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise BodyTooLarge(f"file is larger than {max_bytes} bytes")
    mime, params = parse_options_header(request.headers.get("content-type"))
    if mime != b"multipart/form-data" or not params.get(b"boundary"):
        raise InvalidParams(f"{name}: send a multipart/form-data body with a {name!r} file part")

    part = _Part()
    found: list[UploadedPart] = []

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value += data[start:end]

    def on_header_end() -> None:
        part.headers[bytes(part.header_field).lower()] = bytes(part.header_value)
        part.header_field.clear()
        part.header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(part.headers.get(b"content-disposition"))
        part.wanted = not found and disposition.get(b"name") == name.encode()
        if part.wanted:
            content_type = part.headers.get(b"content-type", b"").decode("latin-1")
            file_name = disposition.get(b"filename", b"").decode("utf-8", "replace")
            found.append(UploadedPart(file_name=file_name, content_type=content_type))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.wanted:
            sink(data[start:end])

    def on_part_end() -> None:
        part.headers.clear()
        part.wanted = False

    callbacks: MultipartCallbacks = {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(params[b"boundary"], callbacks)
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise InvalidParams(f"malformed multipart body: {exc}") from None
    if not found:
        raise InvalidParams(f"{name}: missing; send the file as the multipart field {name!r}")
    return found[0]


async def store_upload(request: Request, uow: UnitOfWork, caller: Principal, settings: Settings) -> FileRecord:
    """The multipart ``file`` of ``request`` as a stored file of the caller's workspace: the writer check comes
    before any byte is read, and the bytes go to disk under ``max_upload_bytes`` as they arrive."""
    sink = files.open_upload(caller, settings.data_dir, settings.max_upload_bytes)
    try:
        part = await read_file_part(request, "file", sink.write, settings.max_upload_bytes)
        return await files.finish_upload(uow, caller, sink, name=part.file_name, content_type=part.content_type)
    finally:
        sink.discard()
