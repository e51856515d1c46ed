"""Alembic environment: runs migrations over the async engine, for the URL `plait.store.migrate` passes in."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from plait.store.db import create_engine
from plait.store.tables import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


asyncio.run(_main(context.config.attributes["database_url"]))
