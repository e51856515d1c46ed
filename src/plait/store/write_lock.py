"""The lock SQLite's writers of one process queue on (see ``db.SQLiteSession``), and how to take it: waiting
longer than SQLite's busy timeout raises as SQLite would, so a writer that can never get it (a write nested in
another one of the same task) fails instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError

SQLITE_BUSY_TIMEOUT_MS = 5000


async def acquire_write_lock(lock: asyncio.Lock) -> None:
    if not lock.locked():  # taken at once: wait_for would wrap the acquire in a task and yield a whole turn
        await lock.acquire()
        return
    try:
        await asyncio.wait_for(lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
    except TimeoutError:
        raise OperationalError("waiting for the write lock", None, Exception("database is locked")) from None


@asynccontextmanager
async def held(lock: asyncio.Lock) -> AsyncIterator[None]:
    await acquire_write_lock(lock)
    try:
        yield
    finally:
        lock.release()
