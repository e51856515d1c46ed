"""Statements on the machine's PostgreSQL as its superuser (127.0.0.1:5432, trust auth): tests make and drop
databases and roles with it. Imported by name (``from pg_admin import admin_sql``): the folder of the root
conftest is on ``sys.path``."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
