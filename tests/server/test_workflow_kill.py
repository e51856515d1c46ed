"""``kill -9`` in the middle of a workflow run: the next ``plait serve`` resumes it from its last checkpoint,
and the node that finished before the kill is not run again. The first node counts its calls on a local
service; the second waits on one that never answers its first call (so the run is surely mid-way when the
server dies) and answers the calls after it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cozepy import Coze, SyncHTTPClient, TokenAuth, WorkflowExecuteStatus
from pg_admin import admin_sql
from server_harness import free_port
from test_server_kill import _cli, _serve


class _Service(ThreadingHTTPServer):
    calls: Counter[str]
    release: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Service

    def do_GET(self) -> None:
        self.server.calls[self.path] += 1
        if self.path == "/slow" and self.server.calls[self.path] == 1:
            self.server.release.wait(120)  # the first call is never answered while the test runs
            return
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[_Service]:
    server = _Service(("127.0.0.1", 0), _Handler)
    server.calls, server.release = Counter(), threading.Event()
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def _workflow(base: str) -> dict[str, object]:
    def call(node_id: str, path: str) -> dict[str, object]:
        return {"id": node_id, "type": "http_request", "config": {"url": f"{base}{path}", "timeout_seconds": 300}}

    return {
        "name": "two calls",
        "nodes": [
            {"id": "start", "type": "start"},
            call("count", "/count"),
            call("slow", "/slow"),
            {
                "id": "end",
                "type": "end",
                "inputs": {
                    "first": {"ref": {"node": "count", "output": "body"}},
                    "second": {"ref": {"node": "slow", "output": "body"}},
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "count"},
            {"source": "count", "target": "slow"},
            {"source": "slow", "target": "end"},
        ],
    }


def _until(what: str, check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not callable(check) or not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_run_of_a_killed_server_resumes_from_its_checkpoint(database: str, service: _Service, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PLAIT_DATA_DIR": str(tmp_path),
        "PLAIT_DATABASE_URL": "",
        "PLAIT_WEB_URL_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    name = None
    if database == "postgresql":
        name = f"plait_wfkill_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
        env["PLAIT_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    port = free_port()
    base = f"http://127.0.0.1:{service.server_address[1]}"
    server = _serve(env, port)
    try:
        token = _cli(env, "keys", "create").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"http://127.0.0.1:{port}/v1/workflows",
            json={"document": _workflow(base), "publish": True},
            headers=headers,
        ).json()
        workflow_id = created["data"]["workflow_id"]
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(token), base_url=f"http://127.0.0.1:{port}", http_client=http)
            execute_id = coze.workflows.runs.create(workflow_id=workflow_id, is_async=True).execute_id or ""
        _until("the run did not reach the slow call", lambda: service.calls["/slow"] == 1)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        server = _serve(env, port)
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(token), base_url=f"http://127.0.0.1:{port}", http_client=http)
            histories = coze.workflows.runs.run_histories

            def finished() -> bool:
                status = histories.retrieve(workflow_id=workflow_id, execute_id=execute_id).execute_status
                return bool(status != WorkflowExecuteStatus.RUNNING)

            _until("the resumed run did not finish", finished)
            history = histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
        assert history.execute_status == WorkflowExecuteStatus.SUCCESS, history.error_message
        assert json.loads(history.output) == {"first": {"path": "/count"}, "second": {"path": "/slow"}}
        assert service.calls == Counter({"/count": 1, "/slow": 2})  # count ran once: its checkpoint was used
        assert set(history.node_execute_status or {}) == {"start", "count", "slow", "end"}
    finally:
        server.kill()
        server.wait(timeout=30)
        if name:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
