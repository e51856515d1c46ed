"""Rate limits on Redis: two limiters (as two processes) draw on one budget on the machine's Redis, and so do two
``plait serve`` processes; the key and workspace buckets are taken together or not at all, idle buckets
expire, and a Redis out of reach limits in process (logged) instead of failing the request."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from scale_harness import serve
from server_harness import free_port, run_cli

from plait.guard.limits import InProcessRateLimiter, Rate
from plait.server.app import create_app
from plait.settings import Settings
from plait.store.redis_hub import RedisHub
from plait.store.redis_limits import RedisRateLimiter


def _limiter(hub: RedisHub, per_key: Rate, per_workspace: Rate) -> RedisRateLimiter:
    return RedisRateLimiter(hub, per_key, per_workspace, InProcessRateLimiter(per_key, per_workspace))


@pytest.fixture
async def hubs(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    """Two connections, as two processes have."""
    first, second = RedisHub(redis_url, redis_prefix), RedisHub(redis_url, redis_prefix)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_two_limiters_share_one_budget(hubs: tuple[RedisHub, RedisHub]) -> None:
    slow = Rate(0.001, 3)  # hardly refills within the test
    one, two = (_limiter(hub, slow, Rate(0.001, 100)) for hub in hubs)
    assert [await limiter.acquire("shared-key", "w1", 0.0) for limiter in (one, two, one)] == [0.0, 0.0, 0.0]
    for limiter in (one, two):
        assert await limiter.acquire("shared-key", "w1", 0.0) > 100  # a token comes back in ~1000 s
    assert await two.acquire("another-key", "w1", 0.0) == 0.0  # each key has its own bucket


async def test_both_buckets_or_neither(hubs: tuple[RedisHub, RedisHub]) -> None:
    one, two = (_limiter(hub, Rate(0.001, 2), Rate(0.001, 3)) for hub in hubs)
    assert [await one.acquire("a", "w2", 0.0), await two.acquire("a", "w2", 0.0)] == [0.0, 0.0]
    assert await one.acquire("b", "w2", 0.0) == 0.0  # the workspace's third and last token
    assert await two.acquire("c", "w2", 0.0) > 0  # refused by the workspace: c's bucket keeps its tokens
    hub = hubs[0]
    assert await hub.redis.exists(hub.key("ratelimit", "key", "c")) == 0
    assert float(await hub.redis.hget(hub.key("ratelimit", "key", "b"), "t")) == pytest.approx(1.0, abs=0.01)


async def test_idle_buckets_expire_once_they_would_be_full(hubs: tuple[RedisHub, RedisHub]) -> None:
    hub = hubs[0]
    limiter = _limiter(hub, Rate(10.0, 5), Rate(0, 1))  # the workspace is unlimited: no bucket of its own
    assert await limiter.acquire("idle", "w3", 0.0) == 0.0
    ttl = await hub.redis.pttl(hub.key("ratelimit", "key", "idle"))
    assert 0 < ttl <= 100 + 1000  # one token to refill at 10/s, plus a second of slack
    assert await hub.redis.exists(hub.key("ratelimit", "workspace", "w3")) == 0


async def test_redis_out_of_reach_limits_in_process_and_says_so(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub = RedisHub(f"redis://127.0.0.1:{free_port()}/0", redis_prefix)
    limiter = _limiter(hub, Rate(0.001, 2), Rate(0.001, 100))
    try:
        with caplog.at_level(logging.WARNING, logger="plait.store.redis_hub"):
            assert [await limiter.acquire("k", "w", 0.0) for _ in range(2)] == [0.0, 0.0]
            assert await limiter.acquire("k", "w", 0.0) > 0  # the in-process bucket is empty
    finally:
        await hub.aclose()
    warnings = [record for record in caplog.records if "Redis is out of reach" in record.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request


def test_a_server_whose_redis_is_down_answers_200_then_429_not_500(
    tmp_path: Path, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings.load(
        data_dir=tmp_path,
        database_url="",
        embedder="hashing",
        redis_url=nobody,
        redis_prefix=redis_prefix,
        rate_limit_key_per_second=0.001,
        rate_limit_key_burst=2,
    )
    env = {"PLAIT_DATA_DIR": str(tmp_path), "PLAIT_DATABASE_URL": ""}
    with (
        caplog.at_level(logging.WARNING, logger="plait.store.redis_hub"),
        TestClient(create_app(settings)) as client,
    ):
        headers = {"Authorization": f"Bearer {run_cli(env, 'keys', 'create').strip().splitlines()[-1]}"}
        answers = [client.get("/v1/workspaces", headers=headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == 4013 and int(answers[2].headers["retry-after"]) >= 1
    assert any("Redis is out of reach" in record.getMessage() for record in caplog.records)


def test_two_server_processes_share_one_budget(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    """Four requests per key in all, whichever process they reach (each alone would allow four)."""
    env = {
        **os.environ,
        "PLAIT_DATA_DIR": str(tmp_path),
        "PLAIT_DATABASE_URL": "",
        "PLAIT_EMBEDDER": "hashing",
        "PLAIT_DEFAULT_MODEL": "scripted/echo",
        "PLAIT_REDIS_URL": redis_url,
        "PLAIT_REDIS_PREFIX": redis_prefix,
        "PLAIT_RATE_LIMIT_KEY_PER_SECOND": "0.001",
        "PLAIT_RATE_LIMIT_KEY_BURST": "4",
    }
    processes = []
    try:
        bases = []
        for _ in range(2):  # one after the other: the first migrates the database
            process, base = serve(env)
            processes.append(process)
            bases.append(base)
        headers = {"Authorization": f"Bearer {run_cli(env, 'keys', 'create').strip().splitlines()[-1]}"}
        answers = [httpx.get(f"{bases[n % 2]}/v1/workspaces", headers=headers) for n in range(6)]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 429, 429]
    assert all(answer.json()["code"] == 4013 for answer in answers[4:])
