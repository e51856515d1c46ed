"""Per-node timeouts, retries and cancellation that reaches the running node."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plait.compose import END, START, Graph, GraphRunError, NodeTimeoutError, RetryPolicy


def single(fn: Any, **options: Any) -> Graph[Any, Any]:
    graph: Graph[Any, Any] = Graph()
    return graph.add_node("node", fn, **options).add_edge(START, "node").add_edge("node", END)


async def test_timeout_stops_a_slow_node_and_names_it() -> None:
    cancelled = asyncio.Event()

    async def slow(x: int) -> int:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x

    with pytest.raises(NodeTimeoutError, match=r"timed out after 0\.05s") as info:
        await single(slow, timeout=0.05).compile().ainvoke(1)
    assert info.value.path == ("node",)
    assert cancelled.is_set()


async def test_a_timeout_error_raised_by_the_node_itself_is_not_a_node_timeout() -> None:
    async def own_timeout(x: int) -> int:
        raise TimeoutError("upstream")

    with pytest.raises(GraphRunError, match="upstream") as info:
        await single(own_timeout, timeout=5).compile().ainvoke(1)
    assert not isinstance(info.value, NodeTimeoutError)


async def test_retry_until_success() -> None:
    attempts: list[int] = []

    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return x * 2

    policy = RetryPolicy(max_attempts=3, initial_delay=0, jitter=False)
    assert await single(flaky, retry=policy).compile().ainvoke(4) == 8
    assert attempts == [4, 4, 4]


async def test_retry_gives_up_after_max_attempts_and_only_on_matching_errors() -> None:
    calls: list[str] = []

    def always(kind: str) -> Any:
        def fail(x: Any) -> Any:
            calls.append(kind)
            raise (ConnectionError if kind == "net" else ValueError)(kind)

        return fail

    policy = RetryPolicy(max_attempts=2, initial_delay=0, retry_on=(ConnectionError,))
    with pytest.raises(GraphRunError, match="ConnectionError"):
        await single(always("net"), retry=policy).compile().ainvoke(0)
    with pytest.raises(GraphRunError, match="ValueError"):
        await single(always("bug"), retry=policy).compile().ainvoke(0)
    assert calls == ["net", "net", "bug"]


async def test_timeouts_are_retried_per_attempt() -> None:
    attempts = 0

    async def slow_then_fast(x: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await asyncio.sleep(30)
        return x

    graph = single(slow_then_fast, timeout=0.05, retry=RetryPolicy(max_attempts=2, initial_delay=0))
    assert await graph.compile().ainvoke(7) == 7
    assert attempts == 2


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"initial_delay": -1}, {"backoff": 0.5}])
def test_retry_policy_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=1, backoff=2, max_delay=5, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


@pytest.mark.parametrize("parallel", [False, True])
async def test_cancelling_the_run_cancels_the_running_nodes(parallel: bool) -> None:
    started = asyncio.Event()
    cancelled: list[str] = []

    def sleeper(name: str) -> Any:
        async def run(x: Any) -> Any:
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return {name: x}

        return run

    graph: Graph[Any, Any] = Graph()
    names = ["a", "b"] if parallel else ["a"]
    for name in names:
        graph.add_node(name, sleeper(name)).add_edge(START, name).add_edge(name, END)
    task = asyncio.create_task(graph.compile().ainvoke(1))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == names


async def test_a_failing_parallel_node_cancels_its_siblings() -> None:
    cancelled = asyncio.Event()

    async def fail(x: Any) -> Any:
        await asyncio.sleep(0)
        raise ValueError("first")

    async def slow(x: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    graph: Graph[Any, Any] = Graph()
    graph.add_node("fail", fail).add_node("slow", slow)
    graph.add_edge(START, "fail").add_edge(START, "slow").add_edge("fail", END).add_edge("slow", END)
    with pytest.raises(GraphRunError, match="first"):
        await graph.compile().ainvoke(0)
    assert cancelled.is_set()
