"""Worker slots: claimed with a conditional write, so two processes never hold one, and kept by heartbeats."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plait.store.ids import MAX_WORKER
from plait.store.tables import Chat, Worker


class SlotsExhausted(RuntimeError):
    """Every worker slot is held by a live process."""


class WorkerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, *, instance: str, host: str, pid: int, now: int, stale_before: int) -> int:
        """A free slot, or one whose holder stopped beating before ``stale_before``; taken in a savepoint so a
        race lost to another process (unique key, or a row changed under us) is retried on the next slot."""
        held: dict[int, int] = dict((await self.session.execute(select(Worker.slot, Worker.heartbeat_at))).all())
        candidates = [slot for slot in range(MAX_WORKER + 1) if slot not in held]
        candidates += sorted((slot for slot, beat in held.items() if beat < stale_before), key=held.__getitem__)
        for slot in candidates:
            if slot in held:
                taken = await self.session.execute(
                    update(Worker)
                    .where(Worker.slot == slot, Worker.heartbeat_at < stale_before)
                    .values(instance=instance, host=host, pid=pid, started_at=now, heartbeat_at=now)
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    return slot
                continue
            try:
                async with self.session.begin_nested():
                    self.session.add(
                        Worker(slot=slot, instance=instance, host=host, pid=pid, started_at=now, heartbeat_at=now)
                    )
            except IntegrityError:
                continue
            return slot
        raise SlotsExhausted(f"all {MAX_WORKER + 1} worker slots are held by live processes")

    async def release_dead_local(self, host: str, alive: Callable[[int], bool]) -> None:
        """Free the slots of this host whose process no longer runs, without waiting for them to go stale."""
        rows = await self.session.execute(select(Worker.slot, Worker.pid).where(Worker.host == host))
        dead = [slot for slot, pid in rows if not alive(pid)]
        if dead:
            await self.session.execute(delete(Worker).where(Worker.slot.in_(dead), Worker.host == host))

    async def beat(self, instance: str, now: int) -> bool:
        """False when the slot is no longer this instance's (it was presumed dead and taken over)."""
        result = await self.session.execute(
            update(Worker)
            .where(Worker.instance == instance)
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1

    async def release(self, instance: str) -> None:
        await self.session.execute(delete(Worker).where(Worker.instance == instance))

    async def fail_orphaned_chats(self, *, stale_before: int, now: int, error: dict[str, object]) -> int:
        """Fail the chats still ``in_progress`` whose runner holds no live slot (it died, or predates runners);
        maintenance across workspaces. Returns how many."""
        live = select(Worker.instance).where(Worker.heartbeat_at >= stale_before)
        result = await self.session.execute(
            update(Chat)
            .where(Chat.status == "in_progress", (Chat.runner.is_(None)) | Chat.runner.not_in(live))
            .values(status="failed", failed_at=now, last_error=error, required_action=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))
