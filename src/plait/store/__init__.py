"""Storage for the platform: SQLAlchemy models, repositories, the unit of work and Alembic migrations."""

from plait.store.db import (
    ConflictError,
    Database,
    DatabaseBusy,
    TransientError,
    UnitOfWork,
    create_engine,
    session_factory,
)
from plait.store.ids import new_id
from plait.store.migrate import upgrade

__all__ = [
    "ConflictError",
    "Database",
    "DatabaseBusy",
    "TransientError",
    "UnitOfWork",
    "create_engine",
    "new_id",
    "session_factory",
    "upgrade",
]
