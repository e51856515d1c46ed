"""A knowledge base's manifest: its documents, their ingestion status and their chunk ids, in SQLite.

The manifest is the source of truth for what is visible: a document's chunks are searchable only once its
row says ``ready``, and each status change is one transaction, so a crash never leaves half a document
visible. Writes run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["queued", "parsing", "chunking", "embedding", "indexing", "ready", "failed"]
TERMINAL: frozenset[str] = frozenset({"ready", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL DEFAULT 0,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    char_count INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    staged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (document_id);
"""


@dataclass(slots=True, kw_only=True)
class DocumentRecord:
    id: str
    name: str
    source: str
    status: Status
    content_hash: str = ""
    error: str = ""
    progress: float = 0.0
    chunk_count: int = 0
    char_count: int = 0
    size: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


_COLUMNS = (
    "id, name, source, content_hash, status, error, progress, chunk_count, char_count, size, metadata, "
    "created_at, updated_at"
)


class Manifest:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def _run(self, work: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return work(*args)

        return await asyncio.to_thread(locked)

    # -- reads ----------------------------------------------------------------------------------------
    async def get(self, document_id: str) -> DocumentRecord | None:
        rows = await self._run(self._select, "WHERE id = ?", (document_id,))
        return rows[0] if rows else None

    async def records(self) -> list[DocumentRecord]:
        records: list[DocumentRecord] = await self._run(self._select, "ORDER BY created_at, id", ())
        return records

    async def ready_ids(self) -> set[str]:
        rows = await self._run(lambda: self._db.execute("SELECT id FROM documents WHERE status = 'ready'").fetchall())
        return {row[0] for row in rows}

    async def chunk_ids(self, document_id: str, *, staged: bool | None = None) -> list[str]:
        sql = "SELECT id FROM chunks WHERE document_id = ?"
        params: tuple[Any, ...] = (document_id,)
        if staged is not None:
            sql += " AND staged = ?"
            params += (int(staged),)
        rows = await self._run(lambda: self._db.execute(sql + " ORDER BY rowid", params).fetchall())
        return [row[0] for row in rows]

    def _select(self, where: str, params: tuple[Any, ...]) -> list[DocumentRecord]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM documents {where}", params).fetchall()
        return [
            DocumentRecord(
                id=row[0],
                name=row[1],
                source=row[2],
                content_hash=row[3],
                status=row[4],
                error=row[5],
                progress=row[6],
                chunk_count=row[7],
                char_count=row[8],
                size=row[9],
                metadata=json.loads(row[10]),
                created_at=row[11],
                updated_at=row[12],
            )
            for row in rows
        ]

    # -- writes ---------------------------------------------------------------------------------------
    async def upsert(self, record: DocumentRecord) -> None:
        now = time.time()
        record.created_at = record.created_at or now
        record.updated_at = now
        await self._run(
            lambda: self._db.execute(
                f"INSERT OR REPLACE INTO documents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.source,
                    record.content_hash,
                    record.status,
                    record.error,
                    record.progress,
                    record.chunk_count,
                    record.char_count,
                    record.size,
                    json.dumps(record.metadata, ensure_ascii=False, default=str),
                    record.created_at,
                    record.updated_at,
                ),
            )
        )

    async def set_status(self, document_id: str, status: Status, *, progress: float, error: str = "") -> None:
        await self._run(
            lambda: self._db.execute(
                "UPDATE documents SET status = ?, progress = ?, error = ?, updated_at = ? WHERE id = ?",
                (status, progress, error, time.time(), document_id),
            )
        )

    async def stage_chunks(self, document_id: str, chunk_ids: Sequence[str]) -> None:
        """Record the chunk ids of a new version before they reach the indexes, so a crash can remove them."""
        await self._run(
            lambda: self._db.executemany(
                "INSERT OR REPLACE INTO chunks (id, document_id, staged) VALUES (?, ?, 1)",
                [(chunk_id, document_id) for chunk_id in chunk_ids],
            )
        )

    async def commit_version(self, record: DocumentRecord, replaced: Sequence[str]) -> None:
        """Make the staged chunks the document's chunks and the document ready, in one transaction."""

        def commit() -> None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM chunks WHERE id = ?", [(c,) for c in replaced])
                self._db.execute("UPDATE chunks SET staged = 0 WHERE document_id = ?", (record.id,))
                self._db.execute(
                    "UPDATE documents SET status = 'ready', progress = 1, error = '', chunk_count = ?, "
                    "char_count = ?, content_hash = ?, updated_at = ? WHERE id = ?",
                    (record.chunk_count, record.char_count, record.content_hash, time.time(), record.id),
                )

        await self._run(commit)

    async def drop_staged(self, document_id: str) -> None:
        await self._run(
            lambda: self._db.execute("DELETE FROM chunks WHERE document_id = ? AND staged = 1", (document_id,))
        )

    async def delete(self, document_id: str) -> None:
        def remove() -> None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
                self._db.execute("DELETE FROM documents WHERE id = ?", (document_id,))

        await self._run(remove)
