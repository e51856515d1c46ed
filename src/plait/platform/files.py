"""Uploaded files: the bytes under ``<data_dir>/files/<workspace_id>/<sha256>``, the metadata in the store.

Blobs are named by content hash, so uploading the same bytes again in a workspace reuses the blob; each upload
still gets its own file id and name. Every lookup is scoped to the caller's workspace.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plait.platform.access import Principal
from plait.platform.errors import BodyTooLarge, InvalidParams, NotFound
from plait.store import UnitOfWork
from plait.store.tables import File

NAME_LENGTH = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecord:
    id: str
    name: str
    bytes: int
    content_type: str
    created_at: int

    @classmethod
    def of(cls, file: File) -> FileRecord:
        return cls(
            id=file.id, name=file.name, bytes=file.bytes, content_type=file.content_type, created_at=file.created_at
        )


def blob_dir(data_dir: Path, workspace_id: str) -> Path:
    return data_dir / "files" / workspace_id


class UploadSink:
    """Takes an upload's bytes as they arrive: hashes and counts them into a temporary file beside the blobs
    and fails at ``max_bytes``, so an oversized upload is never held in memory or stored whole."""

    def __init__(self, data_dir: Path, workspace_id: str, max_bytes: int) -> None:
        self.data_dir = data_dir
        self.directory = blob_dir(data_dir, workspace_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        self._out = os.fdopen(fd, "wb")
        self._tmp = Path(name)
        self._hash = hashlib.sha256()
        self.max_bytes = max_bytes
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise BodyTooLarge(f"file is larger than {self.max_bytes} bytes")
        self._hash.update(chunk)
        self._out.write(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def keep(self) -> str:
        """Move the bytes to their content-addressed name; the path returned is relative to the data dir."""
        self._out.close()
        target = self.directory / self.sha256
        os.replace(self._tmp, target)  # atomic; a concurrent upload of the same bytes writes the same content
        return target.relative_to(self.data_dir).as_posix()

    def discard(self) -> None:
        """Drop the temporary file (after a failure, or when the blob already exists); safe to call twice."""
        self._out.close()
        self._tmp.unlink(missing_ok=True)


def open_upload(principal: Principal, data_dir: Path, max_bytes: int) -> UploadSink:
    """Check the caller may write before any byte of the body is read."""
    principal.require_writer()
    return UploadSink(data_dir, principal.workspace_id, max_bytes)


async def finish_upload(
    uow: UnitOfWork, principal: Principal, sink: UploadSink, *, name: str, content_type: str
) -> FileRecord:
    """Record a fully received upload, reusing the workspace's blob when the same bytes were stored before."""
    if sink.size == 0:
        raise InvalidParams("file: the file is empty")
    existing = await uow.files.find_by_sha256(principal.workspace_id, sink.sha256)
    if existing is not None and (sink.data_dir / existing.path).is_file():
        sink.discard()
        path = existing.path
    else:
        path = sink.keep()
    row = File(
        workspace_id=principal.workspace_id,
        user_id=principal.user_id,
        name=(name or "file")[:NAME_LENGTH],
        bytes=sink.size,
        content_type=content_type or "application/octet-stream",
        sha256=sink.sha256,
        path=path,
    )
    return FileRecord.of(await uow.files.add(row))


async def get_file(uow: UnitOfWork, principal: Principal, file_id: str) -> FileRecord:
    file = await uow.files.get(principal.workspace_id, file_id)
    if file is None:
        raise NotFound(f"file {file_id} not found")
    return FileRecord.of(file)
