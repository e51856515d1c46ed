"""The declarative base: constraint naming (so SQLite and PostgreSQL schemas and migrations agree), the column
types every model shares, and unix-second timestamps (what the Coze API returns)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Annotated, Any, cast

from sqlalchemy import JSON, BigInteger, ForeignKey, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, mapped_column

from plait.store.ids import new_id

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


def now() -> int:
    """Unix seconds: the one timestamp representation of the store."""
    return int(time.time())


Id = Annotated[str, mapped_column(String(32), primary_key=True, default=new_id)]
Timestamp = Annotated[int, mapped_column(BigInteger, default=now)]
UpdatedAt = Annotated[int, mapped_column(BigInteger, default=now, onupdate=now)]
OptionalTimestamp = Annotated[int | None, mapped_column(BigInteger)]
Name = Annotated[str, mapped_column(String(255))]
Json = Annotated[dict[str, Any], mapped_column(JsonType, default=dict)]
JsonList = Annotated[list[Any], mapped_column(JsonType, default=list)]
OptionalJson = Annotated[dict[str, Any] | None, mapped_column(JsonType)]


def workspace_fk() -> Any:
    """The owning workspace; deleting a workspace deletes everything it owns."""
    return mapped_column(String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


def parent_fk(target: str) -> Any:
    """A required parent row whose deletion cascades to this one."""
    return mapped_column(String(32), ForeignKey(target, ondelete="CASCADE"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    def column_values(self) -> dict[str, Any]:
        """The columns set on this row, by key: the parameters of a plain INSERT of a row made whole in Python
        (columns left unset get their defaults in the database)."""
        columns = self.__table__.columns
        return {key: value for key, value in vars(self).items() if key in columns}


def insert_groups(rows: Iterable[Base]) -> dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]]:
    """Rows made whole in Python as the parameters of plain INSERTs: one executemany per table and set of
    columns set."""
    groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        values = row.column_values()
        groups.setdefault((cast(Table, row.__table__), tuple(values)), []).append(values)
    return groups
