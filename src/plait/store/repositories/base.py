"""The shared shape of a repository: every read and write is scoped to one workspace, nothing commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from plait.store.base import Base, insert_groups

M = TypeVar("M", bound=Base)
MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**62  # SQLite and PostgreSQL integers are 64-bit: an offset past this is past every table's end


@dataclass(slots=True, kw_only=True)
class Page(Generic[M]):
    """One number page (``page_num`` from 1) and the total count, as Coze list calls return it."""

    items: list[M]
    total: int
    page_num: int
    page_size: int

    @property
    def has_more(self) -> bool:
        return self.total > self.page_num * self.page_size


class ScopedRepository(Generic[M]):
    """CRUD for a table with a ``workspace_id`` column; a row of another workspace reads as missing."""

    model: ClassVar[type[Any]]
    order: ClassVar[tuple[str, ...]] = ("-created_at", "-id")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self, workspace_id: str, *where: ColumnElement[bool]) -> Select[M]:
        return select(self.model).where(self.model.workspace_id == workspace_id, *where)

    async def add(self, row: M) -> M:
        """Insert ``row`` and flush, so defaults (id, timestamps) are filled in and constraints checked now."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def insert_new(self, rows: Sequence[M]) -> None:
        """Insert rows made whole in Python (ids and times set) as plain INSERTs, one executemany per set of
        columns, without the ORM's unit of work (its flush costs more than the statement on a chat turn). The
        rows stay outside the session: nothing writes them back later, and columns left unset get their
        defaults in the database only."""
        for (table, _), params in insert_groups(rows).items():
            await self.session.execute(insert(table), params)

    async def get(self, workspace_id: str, id: str) -> M | None:
        row: M | None = (await self.session.execute(self._scoped(workspace_id, self.model.id == id))).scalar()
        return row

    async def update(self, workspace_id: str, id: str, /, **values: Any) -> M | None:
        """Set the given columns; None when the row is not in this workspace."""
        row = await self.get(workspace_id, id)
        if row is None:
            return None
        for name, value in values.items():
            if name not in self.model.__table__.columns or name in ("id", "workspace_id"):
                raise ValueError(f"{self.model.__tablename__} has no updatable column {name!r}")
            setattr(row, name, value)
        await self.session.flush()
        return row

    async def delete(self, workspace_id: str, id: str) -> bool:
        """Delete one row (the database cascades to its children); False when it was not there."""
        statement = delete(self.model).where(self.model.workspace_id == workspace_id, self.model.id == id)
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return bool(getattr(result, "rowcount", 0))

    async def page(
        self, workspace_id: str, *where: ColumnElement[bool], page_num: int = 1, page_size: int = 20
    ) -> Page[M]:
        ordering = [getattr(self.model, key.lstrip("-")) for key in self.order]
        ordering = [col.desc() if key.startswith("-") else col for key, col in zip(self.order, ordering, strict=True)]
        return await paged(self.session, self._scoped(workspace_id, *where).order_by(*ordering), page_num, page_size)


async def paged(session: AsyncSession, query: Select[M], page_num: int, page_size: int) -> Page[M]:
    """Page ``page_num`` of an ordered query, with the count of all its rows."""
    if page_num < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_num must be >= 1 and page_size in 1..{MAX_PAGE_SIZE}")
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    offset = (page_num - 1) * page_size
    if offset >= total:  # past the end: no query (and no offset past MAX_OFFSET, which would overflow)
        return Page(items=[], total=total, page_num=page_num, page_size=page_size)
    rows = await session.execute(query.offset(offset).limit(page_size))
    return Page(items=list(rows.scalars()), total=total, page_num=page_num, page_size=page_size)
