"""SQLite on the loop's thread: a write waits for another process's lock without stalling the loop, gives up
after its busy time, and long results arrive whole."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from plait.store import Database
from plait.store.sqlite_loop import FETCH_CHUNK_ROWS, loop_connector


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Another connection (as another process would) holding SQLite's write lock for ``seconds``."""

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (0)")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


async def ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.005)
        ticks += 1
    return ticks


async def test_a_write_waits_for_another_writer_while_the_loop_runs_on(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        held = threading.Event()
        holder = hold_write_lock(path, 0.3, held)
        await asyncio.to_thread(held.wait)

        async def insert() -> None:
            async with database.engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))

        started = time.monotonic()
        write = asyncio.ensure_future(insert())
        ticks = await ticks_while(write)
        await write
        holder.join()
        assert time.monotonic() - started >= 0.2  # it did wait for the lock
        assert ticks >= 20  # ... in asyncio sleeps: the loop ran other work meanwhile
        async with database.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
        assert rows == [0, 1]
    finally:
        await database.dispose()


async def test_a_write_gives_up_after_its_busy_time(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x INTEGER)").connection.close()
    held = threading.Event()
    holder = hold_write_lock(path, 1.0, held)
    await asyncio.to_thread(held.wait)
    connection = await loop_connector(str(path), busy_seconds=0.2)()
    try:
        await connection.execute("PRAGMA busy_timeout=0")
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await connection.execute("INSERT INTO t VALUES (1)")
        assert 0.2 <= time.monotonic() - started < 0.8
    finally:
        await connection.close()
        holder.join()


async def test_a_long_result_arrives_whole_in_chunks(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/long.db")
    count = FETCH_CHUNK_ROWS * 3 + 7
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (:x)"), [{"x": x} for x in range(count)])
        async with database.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
        assert rows == list(range(count))
    finally:
        await database.dispose()


async def test_a_closed_connection_refuses_statements(tmp_path: Path) -> None:
    connection = await loop_connector(str(tmp_path / "closed.db"), busy_seconds=1)()
    await connection.close()
    with pytest.raises(ValueError, match="connection"):
        await connection.execute("SELECT 1")
