"""What the scale-out tests share: the machine's Redis (127.0.0.1:6379, or one started here when absent) and a
key prefix per test, whose keys (and arq's keys of its jobs) are deleted afterwards."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # server_harness, for every scale test
from server_harness import free_port

redis = pytest.importorskip("redis", reason="the scale-out tests need the extra plait[redis]")
MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis, else a redis-server of the session's own on a free port."""
    if _answers(MACHINE_REDIS):
        yield MACHINE_REDIS
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no Redis on 127.0.0.1:6379 and no redis-server to start one")
    folder = tempfile.mkdtemp(prefix="plait-redis-")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while not _answers(url):
        assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the module's own (``PLAIT_REDIS_PREFIX``); its keys are deleted after its tests."""
    prefix = f"plait-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    asyncio.run(_delete_keys(redis_url, prefix))


async def _delete_keys(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        for pattern in (f"{prefix}:*", f"arq:*:{prefix}:*"):  # arq's keys hold the job ids, which hold the prefix
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
