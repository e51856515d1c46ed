"""Schemathesis against a real ``plait serve``: a server on 127.0.0.1 over a fresh data dir, a key, one of each
resource the API names by id (bot, conversation, message, dataset, document, file, workflow, plugin, key,
member), and ``schemathesis run --checks all`` over ``/openapi.json`` with those ids in its dictionaries, so
most generated requests reach a handler instead of a 404.

The CI test (test_fuzz.py) runs a bounded count; the full run is this file as a script::

    .venv/bin/python tests/fuzz/fuzzing.py --max-examples 25 [--seed N] [--report DIR]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
MODEL = "scripted/echo"
WORKFLOW: dict[str, Any] = {
    "name": "fuzz_echo",
    "description": "says the text back",
    "inputs": [{"name": "text", "type": "string"}],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "inputs": {"echo": {"ref": {"node": "start", "output": "text"}}}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}
PLUGIN_SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "fuzz", "version": "1"},
    "servers": [{"url": f"http://{HOST}:9"}],
    "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}},
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Served:
    base_url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "plait"), *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout


@contextlib.contextmanager
def plait_serve(data_dir: Path) -> Iterator[Served]:
    """``plait serve`` in a session of its own; rate limits high, so the fuzzer's burst reaches the handlers."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("PLAIT_")}
    env |= {
        "PLAIT_DATA_DIR": str(data_dir),
        "PLAIT_DEFAULT_MODEL": MODEL,
        "PLAIT_EMBEDDER": "hashing",
        "PLAIT_LOG_LEVEL": "WARNING",
        "PLAIT_AUTH_CACHE_SECONDS": "0",
        "PLAIT_CHAT_WAIT_SECONDS": "5",
        "PLAIT_RATE_LIMIT_KEY_PER_SECOND": "0",
        "PLAIT_RATE_LIMIT_WORKSPACE_PER_SECOND": "0",
    }
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "plait"), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    served = Served(f"http://{HOST}:{port}", env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"plait serve exited:\n{(data_dir / 'server.log').read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{served.base_url}/health").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("plait serve did not answer /health within 60 s")
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ok(response: httpx.Response) -> Any:
    """The whole answer (some Coze answers keep fields beside ``data``); anything but success is an error."""
    payload = response.json()
    if response.status_code >= 300 or payload.get("code", 0) != 0:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} {payload}")
    return payload


def _data(response: httpx.Response) -> Any:
    return _ok(response)["data"]


def seed_resources(base_url: str, token: str) -> dict[str, list[str]]:
    """One of each resource an owner's key can make, made over the API: the ids the fuzzer draws from (and the
    isolation matrix of tests/server asks for with other keys)."""
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as http:
        space_id = _data(http.get("/v1/workspaces"))["workspaces"][0]["id"]
        bot = {"space_id": space_id, "name": "fuzz bot", "model_info_config": {"model_id": MODEL}}
        bot_id = _data(http.post("/v1/bot/create", json=bot))["bot_id"]
        _data(http.post("/v1/bot/publish", json={"bot_id": bot_id, "connector_ids": ["1024"]}))
        conversation_id = _data(http.post("/v1/conversation/create", json={"bot_id": bot_id}))["id"]
        question = {"role": "user", "content": "hello", "content_type": "text"}
        chat = _data(
            http.post(
                "/v3/chat",
                params={"conversation_id": conversation_id},
                json={"bot_id": bot_id, "user_id": "fuzz", "stream": False, "additional_messages": [question]},
            )
        )
        messages = _data(
            http.post("/v1/conversation/message/list", params={"conversation_id": conversation_id}, json={})
        )
        dataset = {"name": "fuzz", "space_id": space_id, "format_type": 0}
        dataset_id = _data(http.post("/v1/datasets", json=dataset))["dataset_id"]
        source = {"file_base64": base64.b64encode(b"plait fuzz text").decode(), "file_type": "txt"}
        documents = _ok(
            http.post(
                "/open_api/knowledge/document/create",
                headers={"agw-js-conv": "str"},
                json={"dataset_id": dataset_id, "document_bases": [{"name": "a.txt", "source_info": source}]},
            )
        )
        file_id = _data(http.post("/v1/files/upload", files={"file": ("a.txt", b"fuzz file", "text/plain")}))["id"]
        document = WORKFLOW | {"name": f"fuzz_echo_{uuid.uuid4().hex[:8]}"}  # names are unique per workspace
        workflow = _data(http.post("/v1/workflows", json={"document": document, "publish": True}))["workflow_id"]
        run = _ok(http.post("/v1/workflow/run", json={"workflow_id": workflow, "parameters": {"text": "hi"}}))
        plugin = {"space_id": space_id, "name": "fuzz", "type": "openapi", "openapi": {"document": PLUGIN_SPEC}}
        plugin_id = _data(http.post("/v1/plugins/create", json=plugin))["plugin_id"]
        spare_key = http.post("/api/studio/keys", json={"name": "spare"}).json()["id"]  # one to revoke
        spare = {"user_name": f"spare-{uuid.uuid4().hex[:8]}", "role": "viewer"}  # one to re-role and remove
        member = http.post("/api/studio/members", json=spare).json()["user_id"]
    return {
        "space": [space_id],
        "bot": [bot_id],
        "conversation": [conversation_id],
        "chat": [chat["id"]],
        "message": [message["id"] for message in messages],
        "dataset": [dataset_id],
        "document": [document["document_id"] for document in documents["document_infos"]],
        "file": [file_id],
        "workflow": [workflow],
        "execute": [run["execute_id"]],
        "plugin": [plugin_id],
        "key": [spare_key],
        "member": [member],
    }


def make_key(served: Served) -> str:
    """An owner's key of the default workspace, with every scope: the last line ``plait keys create`` prints."""
    return served.cli("keys", "create", "--name", "fuzz").strip().splitlines()[-1]


# Parameter names (path, query and body) and the seeded resource each one names.
BINDINGS = {
    "space_id": "space",
    "workspace_id": "space",
    "bot_id": "bot",
    "agent_id": "bot",
    "conversation_id": "conversation",
    "chat_id": "chat",
    "message_id": "message",
    "dataset_id": "dataset",
    "document_id": "document",
    "file_id": "file",
    "workflow_id": "workflow",
    "execute_id": "execute",
    "plugin_id": "plugin",
    "key_id": "key",
    "user_id": "member",
}
ID_PROBABILITY = 0.85  # the rest stay generated: unknown ids must answer 404 as documented


# A schema-valid request may still break a rule the schema cannot state: the state of a resource (a chat that
# ended, a run waiting for no event), a relation of fields (an mcp plugin without its server), a text's content
# (a workflow's YAML); Plait answers those 400 / 4000 naming the field. Everything else stays as schemathesis
# expects; invalid data must still be refused (negative_data_rejection).
ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]


def config_toml(ids: dict[str, list[str]]) -> str:
    """A schemathesis.toml: each seeded kind a dictionary, each id-bearing parameter bound to it."""
    lines = ["[checks.positive_data_acceptance]", f"expected-statuses = {json.dumps(ACCEPTED)}", ""]
    for kind, values in ids.items():
        lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name, kind in BINDINGS.items():
        binding = f'{{ dictionary = "{kind}", probability = {ID_PROBABILITY} }}'
        lines += [f'"{name}" = {binding}', f'"body.{name}" = {binding}']
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Outcome:
    """What a run found: cases sent, answers by status, and the unique failures (operation, code, message)."""

    exit_code: int
    output: str = ""
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: set[tuple[str, str, str]] = field(default_factory=set)
    failed_cases: int = 0

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "statuses": dict(sorted(self.statuses.items())),
            "failed_cases": self.failed_cases,
            "unique_failures": len(self.failures),
            "failures": sorted(" ".join(failure) for failure in self.failures),
        }


def fuzz(
    served: Served, token: str, work_dir: Path, *, max_examples: int, seed: int | None, extra: Sequence[str] = ()
) -> Outcome:
    """``schemathesis run --checks all`` over the server's schema, its ndjson events counted."""
    (work_dir / "schemathesis.toml").write_text(config_toml(seed_resources(served.base_url, token)))
    events = work_dir / "events.ndjson"
    argv = [str(BIN / "schemathesis"), "--config-file", str(work_dir / "schemathesis.toml"), "run"]
    argv += [f"{served.base_url}/openapi.json", "--checks", "all", "--max-examples", str(max_examples)]
    argv += ["--header", f"Authorization: Bearer {token}", "--workers", "2", "--report", "ndjson"]
    argv += ["--report-ndjson-path", str(events), "--request-timeout", "30", "--suppress-health-check", "all"]
    if seed is not None:
        argv += ["--seed", str(seed)]
    done = subprocess.run([*argv, *extra], capture_output=True, text=True, cwd=work_dir)
    outcome = Outcome(done.returncode, output=done.stdout + done.stderr)
    for line in events.read_text().splitlines() if events.exists() else ():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is not None:
            _count(finished["recorder"], outcome)
    return outcome


def _count(recorder: dict[str, Any], outcome: Outcome) -> None:
    for interaction in recorder.get("interactions", {}).values():
        outcome.cases += 1
        status = (interaction.get("response") or {}).get("status_code", 0)
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
    for checks in recorder.get("checks", {}).values():
        failed = [check["failure_info"]["failure"] for check in checks if check["status"] == "failure"]
        outcome.failed_cases += bool(failed)
        for failure in failed:
            first_line = failure["message"].splitlines()[0] if failure["message"] else ""
            outcome.failures.add((failure["operation"], failure["code"], first_line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=25, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and the reports")
    options, extra = parser.parse_known_args()
    work_dir = Path(tempfile.mkdtemp(prefix="plait-fuzz-"))
    with plait_serve(work_dir) as served:
        outcome = fuzz(
            served, make_key(served), work_dir, max_examples=options.max_examples, seed=options.seed, extra=extra
        )
    print(outcome.output[-6000:])
    print(json.dumps(outcome.summary(), indent=1))
    print(f"reports and server log in {work_dir}")
    sys.exit(outcome.exit_code)


if __name__ == "__main__":
    main()
