"""Scale-out on Redis: two ``plait serve`` processes (a data dir each, as two hosts) and ``plait worker``s on
one PostgreSQL with pgvector and one Redis, on 127.0.0.1.

A chat started on one API process is streamed from the other while it runs, and a cancel sent to the other
stops it at once (the heartbeat is 30 s: nothing but the control channel can). Documents ingested through one
are searchable through both. A worker killed in the middle of a workflow run and of a web page's ingestion
leaves both jobs to the next worker, which finishes them (the API processes never run queued jobs); a run a
worker takes acts as the user who started it. The caches hear of changes over Redis: a key revoked on the
command line is refused by both API processes at once, and a bot published on one is served by the other at
once, though each would trust its cache for seconds (the key's for 300 s here).

The chat's model is an OpenAI-compatible service of the test's own, which streams its first piece at once and
the rest only when the test says, so the chat is surely running while it is followed and canceled.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cozepy import (
    ChatEventType,
    ChatStatus,
    Coze,
    DocumentBase,
    DocumentFormatType,
    DocumentSourceInfo,
    Message,
    SyncHTTPClient,
    TokenAuth,
    WorkflowExecuteStatus,
)
from pg_admin import admin_sql
from scale_harness import PLAIT, listening, serve, until

PIECES = ["Tides ", "follow ", "the ", "moon."]
PAGE = "<html><head><title>Quill</title></head><body><p>The Quillwort fern grows by slow rivers.</p></body></html>"


class _Service(ThreadingHTTPServer):
    """The test's own services: an OpenAI-compatible model that waits on ``release`` after its first piece, and
    pages whose first call is held until ``release`` (a job surely mid-way)."""

    calls: Counter[str]
    release: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Service
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # /v1/chat/completions, streamed
        json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for index, piece in enumerate(PIECES):
            if index == 1 and not self.server.release.wait(60):
                return
            self._event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, chunk: dict[str, Any]) -> None:
        body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"} | chunk
        self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        self.server.calls[self.path] += 1
        if self.path in ("/slow", "/page") and self.server.calls[self.path] == 1:
            self.server.release.wait(120)  # the first call is answered only when the test is done
            return
        html = self.path == "/page"
        body = PAGE.encode() if html else json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8" if html else "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@dataclass(slots=True)
class Cluster:
    bases: tuple[str, str]
    token: str
    worker_env: dict[str, str]
    service: _Service
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    clients: list[SyncHTTPClient] = field(default_factory=list)

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.service.server_address[1]}"

    def coze(self, which: int) -> Coze:
        client = SyncHTTPClient()
        self.clients.append(client)
        return Coze(auth=TokenAuth(self.token), base_url=self.bases[which], http_client=client)

    def post(self, which: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.bases[which]}{path}", json=body, headers=self.headers, timeout=30)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        assert data["code"] == 0, data
        return data

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen([PLAIT, "worker"], env=self.worker_env, stdout=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker


@pytest.fixture(scope="module")
def cluster(redis_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not listening(5432):
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (make setup installs it, with pgvector)")
    service = _Service(("127.0.0.1", 0), _Handler)
    service.calls, service.release = Counter(), threading.Event()
    service.daemon_threads = True
    threading.Thread(target=service.serve_forever, daemon=True).start()
    database = f"plait_scale_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_sql(f'CREATE DATABASE "{database}"'))
    common = {
        **os.environ,
        "PLAIT_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        "PLAIT_REDIS_URL": redis_url,
        "PLAIT_REDIS_PREFIX": redis_prefix,
        "PLAIT_JOB_LEASE_SECONDS": "1.5",
        "PLAIT_HEARTBEAT_SECONDS": "30",  # no reconcile or recovery within a test: what happens is Redis's doing
        "PLAIT_AUTH_CACHE_SECONDS": "300",  # a revoked key refused at once is the cache channel's doing
        "PLAIT_EMBEDDER": "hashing",
        "PLAIT_DEFAULT_MODEL": "scripted/echo",
        "PLAIT_WEB_URL_ALLOWED_NETWORKS": "127.0.0.1/32",
        "PLAIT_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    envs = [{**common, "PLAIT_DATA_DIR": str(tmp_path_factory.mktemp(f"host{n}"))} for n in range(3)]
    processes: list[subprocess.Popen[bytes]] = []
    cluster = None
    try:
        bases = []
        for env in envs[:2]:  # one after the other: the first migrates the database
            process, base = serve(env)
            processes.append(process)
            bases.append(base)
        keys = subprocess.run([PLAIT, "keys", "create"], env=envs[0], capture_output=True, text=True, check=True)
        cluster = Cluster((bases[0], bases[1]), keys.stdout.strip().splitlines()[-1], envs[2], service)
        provider = f"http://127.0.0.1:{service.server_address[1]}/v1"
        subprocess.run(
            [PLAIT, "providers", "set", "held", "--kind", "openai_compat", "--base-url", provider, "--model", "m"],
            env=envs[0],
            capture_output=True,
            check=True,
        )
        cluster.start_worker()
        yield cluster
    finally:
        service.release.set()
        for process in [*processes, *(cluster.workers if cluster else [])]:
            process.terminate()
        for process in [*processes, *(cluster.workers if cluster else [])]:
            process.wait(timeout=60)
        for client in cluster.clients if cluster else []:
            client.close()
        service.shutdown()
        service.server_close()
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _held_bot(cluster: Cluster, coze: Coze) -> str:
    space_id = coze.workspaces.list().items[0].id
    bot_id = coze.bots.create(space_id=space_id, name="held").bot_id
    cluster.post(0, "/v1/bot/update", {"bot_id": bot_id, "model_info_config": {"model_id": "held/m"}})
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _sse(response: httpx.Response) -> Iterator[tuple[str, str]]:
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, line.removeprefix("data: ")


def test_a_chat_started_on_one_is_streamed_from_the_other(cluster: Cluster) -> None:
    cluster.service.release.clear()
    first = cluster.coze(0)
    bot_id = _held_bot(cluster, first)
    started = iter(first.chat.stream(bot_id=bot_id, user_id="u", additional_messages=[_question()]))
    chat = next(started).chat  # conversation.chat.created: the chat runs on the first process
    params = {"conversation_id": chat.conversation_id, "chat_id": chat.id}
    followed: list[tuple[str, str]] = []
    with httpx.stream("GET", f"{cluster.bases[1]}/v3/chat/stream", params=params, headers=cluster.headers) as seen:
        assert seen.status_code == 200
        events = _sse(seen)
        for event in events:
            followed.append(event)
            if event[0] == "conversation.message.delta":
                break  # the first piece, relayed while the run waits for the rest
        assert cluster.service.release.is_set() is False
        cluster.service.release.set()
        followed.extend(events)
    on_first = list(started)
    kinds = [kind for kind, _ in followed]
    assert kinds[0] == "conversation.chat.created" and kinds[-2:] == ["conversation.chat.completed", "done"]
    answer = "".join(json.loads(data)["content"] for kind, data in followed if kind == "conversation.message.delta")
    assert answer == "".join(PIECES)
    deltas = [event.message.content for event in on_first if event.event == ChatEventType.CONVERSATION_MESSAGE_DELTA]
    assert "".join(PIECES[len(PIECES) - len(deltas) :]) == "".join(deltas)  # the same run, seen from both
    retrieved = cluster.coze(1).chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert retrieved.status == ChatStatus.COMPLETED


def test_a_cancel_sent_to_the_other_stops_the_run_at_once(cluster: Cluster) -> None:
    cluster.service.release.clear()
    first = cluster.coze(0)
    bot_id = _held_bot(cluster, first)
    started = iter(first.chat.stream(bot_id=bot_id, user_id="u", additional_messages=[_question()]))
    chat = next(started).chat
    until("the run did not start", lambda: _status(cluster, 1, chat.conversation_id, chat.id) == "in_progress")
    begun = time.monotonic()
    canceled = cluster.post(1, "/v3/chat/cancel", {"conversation_id": chat.conversation_id, "chat_id": chat.id})
    assert canceled["data"]["status"] == "canceled"
    rest = [event.event for event in started]  # the first process's stream ends: its run stopped
    assert time.monotonic() - begun < 5  # far within a heartbeat (30 s)
    assert ChatEventType.CONVERSATION_CHAT_COMPLETED not in rest
    assert _status(cluster, 0, chat.conversation_id, chat.id) == "canceled"
    cluster.service.release.set()


def test_bad_follow_requests_are_refused(cluster: Cluster) -> None:
    for params in ({"conversation_id": "1", "chat_id": "2"}, {"conversation_id": "x", "chat_id": "y"}):
        answer = httpx.get(f"{cluster.bases[1]}/v3/chat/stream", params=params, headers=cluster.headers)
        assert answer.status_code == 404 and answer.json()["code"] == 4200
    answer = httpx.get(f"{cluster.bases[1]}/v3/chat/stream", params={"chat_id": "2"}, headers=cluster.headers)
    assert answer.status_code == 400
    assert (
        httpx.get(f"{cluster.bases[1]}/v3/chat/stream", params={"conversation_id": "1", "chat_id": "2"}).status_code
        == 401
    )


def _question() -> Message:
    return Message.build_user_question_text("When do tides turn?")


def _status(cluster: Cluster, which: int, conversation_id: str, chat_id: str) -> str:
    chat = cluster.coze(which).chat.retrieve(conversation_id=conversation_id, chat_id=chat_id)
    return str(chat.status.value)


def _reader(cluster: Cluster, coze: Coze, dataset_id: str) -> str:
    """A published bot that searches the dataset for every question and answers with its prompt."""
    space_id = coze.workspaces.list().items[0].id
    bot_id = coze.bots.create(space_id=space_id, name="Reader").bot_id
    update = {"model_info_config": {"model_id": "scripted/prompt"}}
    update |= {"knowledge": {"dataset_ids": [dataset_id], "auto_call": True, "search_strategy": 0}}
    cluster.post(1, "/v1/bot/update", {"bot_id": bot_id, **update})
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _found(coze: Coze, bot_id: str, question: str) -> str:
    chat = coze.chat.create_and_poll(
        user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text(question)]
    )
    assert chat.chat.status == ChatStatus.COMPLETED
    return next(m.content for m in chat.messages or [] if m.type == "answer")


def _done(coze: Coze, dataset_id: str, document_id: str) -> bool:
    return bool(coze.datasets.process(dataset_id=dataset_id, document_ids=[document_id])[0].status == 1)


def test_documents_ingested_through_one_are_searchable_on_both(cluster: Cluster) -> None:
    first, second = cluster.coze(0), cluster.coze(1)
    space_id = first.workspaces.list().items[0].id
    dataset_id = first.datasets.create(name="kb", space_id=space_id, format_type=DocumentFormatType.DOCUMENT).dataset_id
    bot_id = _reader(cluster, second, dataset_id)
    text = base64.b64encode(b"Descale the Zephyrine kettle monthly.").decode()
    source = DocumentSourceInfo(file_base64=text, file_type="txt")
    (document,) = first.datasets.documents.create(
        dataset_id=dataset_id, document_bases=[DocumentBase(name="kettle.txt", source_info=source)]
    )
    until("the document was not ingested", lambda: _done(second, dataset_id, document.document_id))
    for coze in (first, second):
        assert "Descale the Zephyrine kettle monthly." in _found(coze, bot_id, "Zephyrine kettle")


def _workflow(base: str) -> dict[str, Any]:
    def call(node_id: str, path: str) -> dict[str, Any]:
        return {"id": node_id, "type": "http_request", "config": {"url": f"{base}{path}", "timeout_seconds": 300}}

    end = {"first": {"ref": {"node": "count", "output": "body"}}, "second": {"ref": {"node": "slow", "output": "body"}}}
    return {
        "name": "two calls",
        "nodes": [
            {"id": "start", "type": "start"},
            call("count", "/count"),
            call("slow", "/slow"),
            {"id": "end", "type": "end", "inputs": end},
        ],
        "edges": [
            {"source": "start", "target": "count"},
            {"source": "count", "target": "slow"},
            {"source": "slow", "target": "end"},
        ],
    }


def test_a_worker_killed_mid_job_leaves_it_to_the_next(cluster: Cluster) -> None:
    calls = cluster.service.calls
    cluster.service.release.clear()
    first, second = cluster.coze(0), cluster.coze(1)
    created = cluster.post(0, "/v1/workflows", {"document": _workflow(cluster.service_url), "publish": True})
    workflow_id = created["data"]["workflow_id"]
    execute_id = first.workflows.runs.create(workflow_id=workflow_id, is_async=True).execute_id or ""
    space_id = first.workspaces.list().items[0].id
    dataset_id = first.datasets.create(
        name="web", space_id=space_id, format_type=DocumentFormatType.DOCUMENT
    ).dataset_id
    page = DocumentBase(name="Quill", source_info=DocumentSourceInfo.build_web_page(f"{cluster.service_url}/page"))
    (document,) = first.datasets.documents.create(dataset_id=dataset_id, document_bases=[page])
    until("the worker did not reach the held calls", lambda: calls["/slow"] == 1 and calls["/page"] == 1)
    (worker,) = [w for w in cluster.workers if w.poll() is None]
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    time.sleep(3)  # twice the job lease: no API process takes a queued job
    assert (calls["/slow"], calls["/page"]) == (1, 1)
    cluster.start_worker()
    histories = second.workflows.runs.run_histories

    def finished() -> bool:
        status = histories.retrieve(workflow_id=workflow_id, execute_id=execute_id).execute_status
        return bool(status != WorkflowExecuteStatus.RUNNING)

    until("the run taken again did not finish", finished)
    history = histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS, history.error_message
    assert json.loads(history.output) == {"first": {"path": "/count"}, "second": {"path": "/slow"}}
    until("the document taken again was not ingested", lambda: _done(second, dataset_id, document.document_id))
    assert (calls["/count"], calls["/slow"], calls["/page"]) == (1, 2, 2)  # count's checkpoint held
    bot_id = _reader(cluster, second, dataset_id)
    assert "Quillwort" in _found(second, bot_id, "Quillwort fern")
    cluster.service.release.set()


def _new_key(cluster: Cluster) -> tuple[str, dict[str, str]]:
    made = subprocess.run([PLAIT, "keys", "create"], env=cluster.worker_env, capture_output=True, text=True)
    lines = made.stdout.strip().splitlines()
    return lines[-2].split()[1], {"authorization": f"Bearer {lines[-1]}"}


def test_a_key_revoked_on_the_command_line_is_refused_by_every_server_at_once(cluster: Cluster) -> None:
    key_id, headers = _new_key(cluster)
    for base in cluster.bases:  # each server checks the key once and trusts it for 300 s
        assert httpx.get(f"{base}/v1/users/me", headers=headers).status_code == 200
    subprocess.run([PLAIT, "keys", "revoke", key_id], env=cluster.worker_env, capture_output=True, check=True)
    for base in cluster.bases:
        until("a server still took the revoked key", lambda b=base: _refused(b, headers), 5)


def _refused(base: str, headers: dict[str, str]) -> bool:
    answer = httpx.get(f"{base}/v1/users/me", headers=headers)
    return answer.status_code == 401 and answer.json()["code"] == 4100


def test_a_bot_published_on_one_is_served_by_the_other_at_once(cluster: Cluster) -> None:
    first, second = cluster.coze(0), cluster.coze(1)
    space_id = first.workspaces.list().items[0].id
    bot_id = first.bots.create(space_id=space_id, name="changing").bot_id
    cluster.post(0, "/v1/bot/update", {"bot_id": bot_id, "model_info_config": {"model_id": "scripted/echo"}})
    first.bots.publish(bot_id=bot_id)
    assert _found(second, bot_id, "Which version?") == "Which version?"  # the second caches this version
    cluster.post(0, "/v1/bot/update", {"bot_id": bot_id, "model_info_config": {"model_id": "scripted/prompt"}})
    first.bots.publish(bot_id=bot_id)
    until("the second chatted with the old version", lambda: _found(second, bot_id, "Which one?") != "Which one?", 5)


def test_an_async_run_on_a_worker_acts_as_the_user_who_started_it(cluster: Cluster) -> None:
    first = cluster.coze(0)
    space_id = first.workspaces.list().items[0].id
    bot_id = first.bots.create(space_id=space_id, name="asked").bot_id
    cluster.post(0, "/v1/bot/update", {"bot_id": bot_id, "model_info_config": {"model_id": "scripted/echo"}})
    first.bots.publish(bot_id=bot_id)
    ask = {"id": "bot", "type": "agent", "config": {"bot_id": bot_id}, "inputs": {"message": "hello"}}
    end = {"conversation": {"ref": {"node": "bot", "output": "conversation_id"}}}
    document = {
        "name": "ask a bot",
        "nodes": [{"id": "start", "type": "start"}, ask, {"id": "end", "type": "end", "inputs": end}],
        "edges": [{"source": "start", "target": "bot"}, {"source": "bot", "target": "end"}],
    }
    workflow_id = cluster.post(0, "/v1/workflows", {"document": document, "publish": True})["data"]["workflow_id"]
    execute_id = first.workflows.runs.create(workflow_id=workflow_id, is_async=True).execute_id or ""
    histories = first.workflows.runs.run_histories
    until(
        "the run did not finish",
        lambda: (
            histories.retrieve(workflow_id=workflow_id, execute_id=execute_id).execute_status
            != WorkflowExecuteStatus.RUNNING
        ),
    )
    history = histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS, history.error_message
    conversation_id = json.loads(history.output)["conversation"]
    me = httpx.get(f"{cluster.bases[1]}/v1/users/me", headers=cluster.headers).json()["data"]["user_id"]
    answer = httpx.get(
        f"{cluster.bases[1]}/v1/conversation/retrieve",
        params={"conversation_id": conversation_id},
        headers=cluster.headers,
    )
    assert answer.json()["data"]["creator_id"] == me  # the worker's run acted as its starter, not as nobody
