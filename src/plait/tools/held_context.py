"""An async context manager held open by a task of its own. anyio task groups (inside the MCP SDK's
transports and its session manager) must be left by the task that entered them, while a connection or an
app's lifespan may be opened by one task and closed by another (a pytest fixture's setup and teardown, a
tool call and the agent's shutdown)."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

T = TypeVar("T")


class HeldContext(Generic[T]):
    def __init__(self, manager: AbstractAsyncContextManager[T], *, name: str) -> None:
        self.name = name
        self._manager = manager
        self._entered = asyncio.Event()
        self._release = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._value: T | None = None

    async def open(self, within: float | None = None) -> T:
        """Enter the manager and return what it gives; what it raised on entering, or TimeoutError."""
        if self._task is not None:
            raise RuntimeError(f"{self.name} was opened already")
        task = self._task = asyncio.create_task(self._hold(), name=self.name)
        entered = asyncio.create_task(self._entered.wait())
        try:
            await asyncio.wait({entered, task}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            entered.cancel()
        if self.alive:
            return self._value  # type: ignore[return-value]  # set before _entered, and T may be None
        failure = task.exception() if task.done() and not task.cancelled() else None
        await self.close()
        if failure is not None:
            raise failure
        raise TimeoutError(f"{self.name} did not open" + (f" within {within:g} s" if within is not None else ""))

    async def _hold(self) -> None:
        async with self._manager as value:
            self._value = value
            self._entered.set()
            await self._release.wait()

    @property
    def alive(self) -> bool:
        """Entered and not left: neither closed nor ended by a failure inside."""
        return self._entered.is_set() and self._task is not None and not self._task.done()

    async def close(self, within: float = 10.0) -> None:
        """Leave the manager (cancelled if still entering, or after ``within`` seconds); never raises its
        failure, which ``open`` or the holder's own calls have reported."""
        self._release.set()
        task = self._task
        if task is None:
            return
        if not task.done():
            if not self._entered.is_set():  # it would see the release only once entered
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=within)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=within)
        if task.done() and not task.cancelled():
            task.exception()  # seen here, so asyncio does not log it as never retrieved
