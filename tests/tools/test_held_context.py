"""A context held open by a task of its own: entered in one task, left from another, as anyio demands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from plait.tools.held_context import HeldContext


@asynccontextmanager
async def task_group(events: list[str], *, fail: bool = False, hang: bool = False) -> AsyncIterator[str]:
    """A manager with an anyio task group inside: leaving it from another task than the one that entered
    it raises RuntimeError, unless a HeldContext holds it."""
    async with anyio.create_task_group():
        if fail:
            raise ValueError("cannot start")
        if hang:
            await asyncio.sleep(60)
        events.append("entered")
        try:
            yield "value"
        finally:
            events.append("left")


async def test_opened_and_closed_from_different_tasks() -> None:
    events: list[str] = []
    held = HeldContext(task_group(events), name="group")
    assert await asyncio.create_task(held.open(5)) == "value"
    assert held.alive
    await asyncio.create_task(held.close())
    assert events == ["entered", "left"] and not held.alive


async def test_a_failure_to_enter_is_raised_and_a_hang_times_out() -> None:
    with pytest.raises(ExceptionGroup) as raised:
        await HeldContext(task_group([], fail=True), name="group").open(5)
    assert raised.group_contains(ValueError, match="cannot start")
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError, match=r"group did not open within 0\.2 s"):
        await HeldContext(task_group([], hang=True), name="group").open(0.2)
    assert asyncio.get_running_loop().time() - started < 5


async def test_it_opens_once() -> None:
    held = HeldContext(task_group([]), name="group")
    await held.open(5)
    with pytest.raises(RuntimeError, match="group was opened already"):
        await held.open(5)
    await held.close()
    await held.close()  # closing twice is harmless
