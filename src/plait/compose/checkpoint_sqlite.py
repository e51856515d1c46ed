"""A checkpointer on a SQLite file, with the standard library only, off the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plait_checkpoints (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, step)
)
"""


class SQLiteCheckpointer:
    """Checkpoints in a SQLite database file (WAL mode), safe to share between runs of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    async def put(self, run_id: str, step: int, data: bytes) -> None:
        await asyncio.to_thread(
            self._run,
            "INSERT OR REPLACE INTO plait_checkpoints (run_id, step, data) VALUES (?, ?, ?)",
            (run_id, step, data),
        )

    async def get(self, run_id: str, step: int | None = None) -> bytes | None:
        params: tuple[Any, ...]
        if step is None:
            sql, params = (
                "SELECT data FROM plait_checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1",
                (run_id,),
            )
        else:
            sql, params = "SELECT data FROM plait_checkpoints WHERE run_id = ? AND step = ?", (run_id, step)
        rows = await asyncio.to_thread(self._run, sql, params)
        return bytes(rows[0][0]) if rows else None

    async def steps(self, run_id: str) -> list[int]:
        rows = await asyncio.to_thread(
            self._run, "SELECT step FROM plait_checkpoints WHERE run_id = ? ORDER BY step", (run_id,)
        )
        return [int(row[0]) for row in rows]

    async def delete(self, run_id: str) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM plait_checkpoints WHERE run_id = ?", (run_id,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
