"""Run the packaged Alembic migrations from code: the config is built here, so no alembic.ini is needed and it
works from an installed wheel."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from plait.datadir import private_dir

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Synchronous (Alembic runs its own event loop): from async code, call
    it through ``asyncio.to_thread``."""
    _create_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)


def _create_sqlite_file(database_url: str) -> None:
    """SQLite would create its file readable by everyone (0644 under the usual umask): make it first, owner-only
    (0600), in an owner-only directory when that is missing too. SQLite gives its -wal and -shm files the
    database file's mode. An existing file keeps its mode."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith((":memory:", "file:")):
        return
    path = Path(url.database)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
