"""The unit of work's after-commit hooks, on SQLite and PostgreSQL: they run once the transaction is committed
(and see its rows from another session), never after a rollback, and one that fails does not stop the rest."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plait.store import UnitOfWork
from plait.store.tables import User

Sessions = async_sessionmaker[AsyncSession]


async def test_hooks_run_after_the_commit_and_see_its_rows(sessions: Sessions) -> None:
    seen: list[str | None] = []

    async def look() -> None:  # another session: only committed rows are visible to it
        async with UnitOfWork(sessions) as other:
            user = await other.users.get_by_name("hooked")
            seen.append(user.name if user else None)

    async with UnitOfWork(sessions) as uow:
        await uow.users.add(User(name="hooked"))
        uow.after_commit(look)
        assert seen == []  # nothing runs before the commit
    assert seen == ["hooked"]


async def test_hooks_are_dropped_when_the_work_rolls_back(sessions: Sessions) -> None:
    ran: list[bool] = []

    async def hook() -> None:
        ran.append(True)

    with pytest.raises(RuntimeError):
        async with UnitOfWork(sessions) as uow:
            await uow.users.add(User(name="rolled back"))
            uow.after_commit(hook)
            raise RuntimeError("the use case failed")
    assert ran == []


async def test_a_mid_way_commit_runs_the_hooks_so_far_and_a_failing_hook_stops_none(sessions: Sessions) -> None:
    order: list[str] = []

    async def failing() -> None:
        order.append("failing")
        raise ValueError("a hook's own error")

    async def second() -> None:
        order.append("second")

    async def later() -> None:
        order.append("later")

    async with UnitOfWork(sessions) as uow:
        uow.after_commit(failing)
        uow.after_commit(second)
        await uow.commit()
        assert order == ["failing", "second"]
        uow.after_commit(later)
    assert order == ["failing", "second", "later"]
