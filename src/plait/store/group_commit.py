"""Group commit: one writer per database that commits the saves of many chat runs in one transaction.

A chat run saves as it goes (a tool call, its answer, how it ended), and each save was a transaction of its
own: a session, an INSERT or two, maybe an UPDATE, a COMMIT. Under load dozens of runs save at once, and one
transaction for all of them costs little more than one for a single run. So a run hands its save to
``GroupWriter.save`` and waits; the writer takes every save queued since its last commit, writes them in one
transaction (the new rows of each table in one executemany) and wakes their runs once it has committed.

Nothing is acknowledged early: ``save`` returns after the transaction holding the save committed (SQLite in
WAL mode with ``synchronous=NORMAL``: a commit survives a kill -9 of the process; PostgreSQL: a commit is
durable), and a run answers its client only after its save returned. A batch the database refuses for one of
its saves (a chat whose conversation was deleted while it ran) is rolled back and each save tried alone, so a
bad save fails alone; an error that is nobody's fault (a lock held too long, a dropped connection) reaches every
save of the batch, and their runs try again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from plait.store.base import Base, insert_groups
from plait.store.write_lock import held

MAX_BATCH = 256  # saves in one transaction: bounds how long one commit keeps the others waiting


@dataclass(frozen=True, slots=True)
class Save:
    """One caller's writes, all or nothing: new rows made whole in Python (ids and times set), and an update."""

    rows: Sequence[Base] = ()
    update: Executable | None = None  # usually conditional: "move the chat on if it still runs"
    params: Mapping[str, Any] = field(default_factory=dict)
    rows_if_updated: bool = False  # insert the rows only when the update matched a row


_Queued = tuple[Save, "asyncio.Future[bool]"]


class GroupWriter:
    def __init__(self, engine: AsyncEngine, write_lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._write_lock = write_lock  # SQLite's writers of this process queue on it (db.SQLiteSession)
        self._queue: list[_Queued] = []
        self._drainer: asyncio.Task[None] | None = None
        order = {table: index for index, table in enumerate(Base.metadata.sorted_tables)}
        self._table_order = order  # parents before children: a chat's row before its messages'

    async def save(self, save: Save) -> bool:
        """Write ``save`` with the next transaction and return once that committed: whether its update matched a
        row (True without one). A caller cancelled meanwhile still waits for the outcome before it sees the
        ``CancelledError``: whatever it does next, its save is already in the database or not at all."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.append((save, future))
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain(), name="group commit")
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await future
            raise

    async def _drain(self) -> None:
        """Commit what is queued, batch after batch, until nothing is; saves queued meanwhile join the next."""
        batch: list[_Queued] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)
        except BaseException:  # cancelled with the loop: nobody may wait forever
            for _, future in [*batch, *self._queue]:
                if not future.done():
                    future.cancel()
            raise

    async def _commit(self, batch: list[_Queued]) -> None:
        try:
            matched = await self._write([save for save, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and isinstance(exc, IntegrityError):
                for one in batch:  # a save the database refuses: find it
                    await self._commit([one])
            else:
                _fail(batch, exc)
        else:
            for (_, future), outcome in zip(batch, matched, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def _write(self, saves: list[Save]) -> list[bool]:
        locked = held(self._write_lock) if self._write_lock is not None else contextlib.nullcontext()
        async with self._engine.connect() as connection, locked, connection.begin():
            matched = [await _update(connection, save) for save in saves]
            kept = [save for save, updated in zip(saves, matched, strict=True) if updated or not save.rows_if_updated]
            groups = insert_groups(row for save in kept for row in save.rows)
            for table, keys in sorted(groups, key=lambda group: self._table_order[group[0]]):
                await connection.execute(insert(table), groups[table, keys])
        return matched


async def _update(connection: AsyncConnection, save: Save) -> bool:
    if save.update is None:
        return True
    result = await connection.execute(save.update, dict(save.params))
    return bool(getattr(result, "rowcount", 0))


def _fail(batch: list[_Queued], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
