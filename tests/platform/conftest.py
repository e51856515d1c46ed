"""Fixtures of the platform tests: a migrated database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from plait.store import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database at this version's schema."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/plait.db"
    else:
        make: Callable[[], str] = request.getfixturevalue("new_pg_database")
        url = await asyncio.to_thread(make)
    await asyncio.to_thread(upgrade, url)
    return url
