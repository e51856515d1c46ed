"""Store fixtures: every test that takes ``database_url`` runs once on SQLite and once on PostgreSQL.

PostgreSQL is the machine's server (trust auth); the session gets its own database, migrated with the packaged
Alembic scripts, and each test starts from empty tables. SQLite gets a fresh file per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from plait.store import create_engine, session_factory, upgrade
from plait.store.tables import Base


@pytest.fixture(scope="session")
def pg_url(new_pg_database: Callable[[], str]) -> str:
    """The session's migrated PostgreSQL database."""
    url = new_pg_database()
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/plait.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.run_sync(Base.metadata.create_all)
        else:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)
