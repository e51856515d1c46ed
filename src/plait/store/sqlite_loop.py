"""SQLite on the event loop's own thread: aiosqlite's API (what SQLAlchemy's ``sqlite+aiosqlite`` dialect drives)
without aiosqlite's thread.

aiosqlite runs every call (cursor, execute, fetch, close) in a thread of its own and wakes the loop for each
result: about four thread hops a statement, which cost more CPU than the statements a chat turn runs (an
indexed read of a few dozen rows, an insert of a few rows, a commit that, in WAL mode with
``synchronous=NORMAL``, writes to the page cache and does not sync). Here the calls run inline.

What would block the loop is handled where it happens:
- Waiting for another process's write lock: SQLite's own busy handler would sleep on the loop, so it is off
  (``busy_timeout=0``) and a ``SQLITE_BUSY`` statement is tried again after an asyncio sleep (1 ms, doubling
  to 100 ms, for up to ``busy_seconds``), which is what the busy handler does, minus the stall. A statement
  that met ``SQLITE_BUSY`` did nothing, so trying it again is safe; ``SQLITE_BUSY_SNAPSHOT`` (a read snapshot
  gone stale) is not retried, as the busy handler does not retry it either.
- Long results: ``fetchall`` reads in chunks and yields to the loop between them.
Writers of one process are queued by ``db.SQLiteSession`` before they reach SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite

FETCH_CHUNK_ROWS = 256  # rows read between two yields to the loop
FIRST_RETRY_SECONDS = 0.001
LAST_RETRY_SECONDS = 0.1


class LoopConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose calls run on the calling (event loop) thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_seconds: float) -> None:
        super().__init__(connector, iter_chunk_size=FETCH_CHUNK_ROWS)
        self._busy_seconds = busy_seconds

    def __await__(self) -> Generator[Any, None, LoopConnection]:
        return self._open().__await__()

    async def _open(self) -> LoopConnection:
        self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        if getattr(fn, "__name__", "") == "fetchall":
            return await self._fetch_all(fn.__self__)  # type: ignore[attr-defined]
        deadline, wait = time.monotonic() + self._busy_seconds, FIRST_RETRY_SECONDS
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, LAST_RETRY_SECONDS)

    async def _fetch_all(self, cursor: sqlite3.Cursor) -> list[Any]:
        rows: list[Any] = []
        while True:
            chunk = cursor.fetchmany(FETCH_CHUNK_ROWS)
            rows += chunk
            if len(chunk) < FETCH_CHUNK_ROWS:
                return rows
            await asyncio.sleep(0)

    def stop(self) -> asyncio.Future[Any] | None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        return None

    async def close(self) -> None:
        self.stop()


def loop_connector(database: str, busy_seconds: float, **options: Any) -> Callable[[], LoopConnection]:
    """The ``async_creator`` for ``create_async_engine``: connections that open on the loop's thread."""

    def connect() -> LoopConnection:
        # check_same_thread=False: the engine may dispose of its pool from another thread at exit.
        return LoopConnection(
            lambda: sqlite3.connect(database, check_same_thread=False, **options), busy_seconds=busy_seconds
        )

    return connect
