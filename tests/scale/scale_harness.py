"""What the scale-out tests share besides fixtures: ``plait serve`` processes started and waited for."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from server_harness import free_port

PLAIT = str(Path(sys.executable).with_name("plait"))


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """A ``plait serve`` process on a free port, once it answers ``/health``; and its base URL."""
    port = free_port()
    process = subprocess.Popen([PLAIT, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    until("plait serve did not come up", lambda: process.poll() is None and healthy(base), 60)
    return process, base


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health").status_code == 200
    except httpx.TransportError:
        return False


def until(what: str, check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
