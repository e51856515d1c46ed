"""Run the packaged Alembic migrations from code: the config is built here, so no alembic.ini is needed and it
works from an installed wheel."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Synchronous (Alembic runs its own event loop): from async code, call
    it through ``asyncio.to_thread``."""
    command.upgrade(alembic_config(database_url), revision)
