"""PostgreSQL's pool: up to its size, connections are opened as needed and kept; past it a checkout waits for one
instead of opening a connection that would be closed on return (the churn that held two workers near 350 turns/s
in benchmarks/server.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from plait.store import Database, DatabaseBusy


async def _backends(database: Database, at_once: int) -> set[int]:
    """The PostgreSQL backends that ``at_once`` connections held together were served by."""
    held = asyncio.Event()
    pids: list[int] = []

    async def hold() -> None:
        async with database.engine.connect() as connection:
            pids.append(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            if len(pids) == at_once:
                held.set()
            await held.wait()

    await asyncio.gather(*(hold() for _ in range(at_once)))
    return set(pids)


async def test_connections_up_to_the_pool_size_are_kept(pg_url: str) -> None:
    database = Database(pg_url, pool_size=3)
    try:
        first = await _backends(database, 3)
        second = await _backends(database, 3)
        assert len(first) == 3
        assert second == first  # the same three backends: none was closed on return and opened again
    finally:
        await database.dispose()


async def test_a_checkout_past_the_pool_size_waits_instead_of_opening_one(pg_url: str) -> None:
    database = Database(pg_url, pool_size=2, pool_timeout=0.3)
    try:
        async with database.engine.connect(), database.engine.connect():
            with pytest.raises(DatabaseBusy, match=r"no database connection came free within 0\.3 s"):
                async with database.engine.connect():
                    pass
        async with database.engine.connect():  # one came back: the next checkout has it at once
            pass
    finally:
        await database.dispose()
