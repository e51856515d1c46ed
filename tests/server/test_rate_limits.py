"""Rate limits per API key and per workspace: 429 with Retry-After, code 4013 on the Coze API and OpenAI's
rate_limit_error on /openai; and the in-process token buckets themselves."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from server_harness import free_port, run_cli

from plait.guard.limits import InProcessRateLimiter, Rate, retry_after
from plait.server import create_app
from plait.settings import Settings

KEY_BURST, WORKSPACE_BURST = 2, 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A server whose buckets hardly refill: 2 requests per key, 3 per workspace."""
    env = {"PLAIT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "PLAIT_DATABASE_URL": ""}
    settings = Settings.load(
        data_dir=Path(env["PLAIT_DATA_DIR"]),
        database_url="",
        embedder="hashing",
        rate_limit_key_per_second=0.001,
        rate_limit_key_burst=KEY_BURST,
        rate_limit_workspace_per_second=0.001,
        rate_limit_workspace_burst=WORKSPACE_BURST,
    )
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _key(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {run_cli(env, 'keys', 'create').strip().splitlines()[-1]}"}


def test_coze_and_openai_faces_answer_429_with_retry_after(limited: tuple[str, dict[str, str]]) -> None:
    base_url, env = limited
    first, second = _key(env), _key(env)
    with httpx.Client(base_url=base_url) as client:
        assert [client.get("/v1/workspaces", headers=first).status_code for _ in range(KEY_BURST)] == [200, 200]
        refused = client.get("/v1/workspaces", headers=first)
        assert refused.status_code == 429
        assert refused.json()["code"] == 4013 and refused.json()["data"] is None
        assert int(refused.headers["retry-after"]) >= 1
        refused = client.get("/openai/v1/models", headers=first)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        # Another key of the same workspace has its own bucket, until the workspace's is empty.
        assert client.get("/openai/v1/models", headers=second).status_code == 200
        assert client.get("/v1/workspaces", headers=second).json()["code"] == 4013
        assert client.get("/v1/workspaces").status_code == 401  # no key: nothing to limit, nothing taken


async def test_buckets_refill_and_a_refusal_takes_nothing() -> None:
    limiter = InProcessRateLimiter(Rate(1.0, 2), Rate(10.0, 3))
    assert [await limiter.acquire("k", "w", 0.0) for _ in range(2)] == [0.0, 0.0]
    assert await limiter.acquire("k", "w", 0.0) == pytest.approx(1.0)
    assert await limiter.acquire("k", "w", 0.5) == pytest.approx(0.5)
    assert await limiter.acquire("k", "w", 1.0) == 0.0  # one token back after a second
    assert await limiter.acquire("other", "w", 1.0) == 0.0  # the workspace had 3 - 2 + 10 refilled: capped at 3
    assert retry_after(0.2) == 1 and retry_after(2.1) == 3


async def test_a_limiter_with_zero_rates_is_off_and_its_memory_is_bounded() -> None:
    off = InProcessRateLimiter(Rate(0, 1), Rate(0, 1))
    assert off.off and all([await off.acquire("k", "w", 0.0) == 0.0 for _ in range(100)])
    small = InProcessRateLimiter(Rate(1.0, 1), Rate(0, 1), max_entries=10)
    for index in range(100):
        assert await small.acquire(f"key{index}", "w", float(index)) == 0.0
    assert len(small._key.entries) <= 10  # type: ignore[union-attr]
