"""The packaged migrations build exactly the models' schema on both engines; SQLite runs with its pragmas."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from plait.store import create_engine, upgrade
from plait.store.tables import Base


def _diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def _schema_diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/migrated.db"
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    assert await _schema_diff(url) == []


async def test_migrations_match_models_on_postgresql(new_pg_database: Callable[[], str]) -> None:
    url = await asyncio.to_thread(new_pg_database)  # it uses asyncio.run
    await asyncio.to_thread(upgrade, url)
    assert await _schema_diff(url) == []


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
            # the loop's connections wait for a lock in asyncio sleeps (sqlite_loop), never in SQLite's handler
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 0
    finally:
        await engine.dispose()
