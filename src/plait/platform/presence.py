"""This process's place among the workers of one database.

At start a process claims a worker slot (`plait.store.tables.Worker`): the slot number becomes the worker
bits of every id it generates, so ids are unique across processes and hosts, and its random instance name is
stamped on every chat it runs. A heartbeat keeps the slot; a slot whose holder stopped beating for
``stale_after`` seconds is free again, and so is one whose process is gone from this host (a ``kill -9`` and a
restart recover at once). Each beat also fails the
chats left ``in_progress`` by a runner that holds no live slot, so a client polling a chat of a killed
process sees ``failed`` with a reason instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from plait.store import Database, new_id

log = logging.getLogger(__name__)
ORPHANED = {"code": 5000, "msg": "the server process running this chat stopped before it finished; ask again"}


class Presence:
    def __init__(self, database: Database, *, heartbeat_seconds: float, stale_after_seconds: float) -> None:
        self._database = database
        self._interval = heartbeat_seconds
        self._stale_after = stale_after_seconds
        self.instance = secrets.token_hex(16)
        self.slot: int | None = None
        self._host = _host()
        self._task: asyncio.Task[None] | None = None
        self._each_beat: list[Callable[[], Awaitable[None]]] = []

    def each_beat(self, chore: Callable[[], Awaitable[None]]) -> None:
        """Run ``chore`` after every heartbeat: upkeep a process owes the others (a failing chore is logged)."""
        self._each_beat.append(chore)

    async def start(self, *, keep_beating: bool = True) -> None:
        """Claim a slot and rebind the id generator to it; fail what dead workers left running. A short-lived
        process (a CLI command) passes ``keep_beating=False``: it releases its slot long before it could go stale."""
        await self._claim()
        await self.sweep()
        if keep_beating:
            self._task = asyncio.create_task(self._beat_forever(), name="worker heartbeat")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        async with self._database.unit_of_work() as uow:
            await uow.workers.release(self.instance)

    async def sweep(self) -> int:
        """Fail the chats in progress whose runner is gone; how many."""
        now = int(time.time())
        async with self._database.unit_of_work() as uow:
            failed = await uow.workers.fail_orphaned_chats(
                stale_before=self._stale_before(now), now=now, error=ORPHANED
            )
        if failed:
            log.warning("failed %d chats whose worker stopped", failed)
        return failed

    async def _claim(self) -> None:
        now = int(time.time())
        async with self._database.unit_of_work() as uow:
            await uow.workers.release_dead_local(self._host, _alive)
            self.slot = await uow.workers.claim(
                instance=self.instance, host=self._host, pid=os.getpid(), now=now, stale_before=self._stale_before(now)
            )
        new_id.rebind(self.slot)
        log.info("worker slot %d claimed by instance %s", self.slot, self.instance)

    def _stale_before(self, now: int) -> int:
        return now - int(self._stale_after)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                async with self._database.unit_of_work() as uow:
                    kept = await uow.workers.beat(self.instance, int(time.time()))
                if not kept:  # presumed dead (a long stall) and taken over: ids must not collide with the new holder
                    log.warning("worker slot %s was taken over; claiming another", self.slot)
                    await self._claim()
                await self.sweep()
                for chore in self._each_beat:
                    await chore()
            except Exception:  # a database hiccup must not end the heartbeat for good
                log.exception("worker heartbeat failed")


def _host() -> str:
    """The host name and boot id: a process table this process can see (containers differ in host name)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            boot = file.read().strip()[:8]
    except OSError:
        boot = ""
    return f"{socket.gethostname()[:200]}/{boot}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
