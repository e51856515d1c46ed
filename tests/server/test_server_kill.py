"""``kill -9`` in the middle of chats: a chat a dead ``plait serve`` left ``in_progress`` is failed with a
reason when a server starts again (never left for ``create_and_poll`` to poll forever), on SQLite and
PostgreSQL; with 50 streams open at the kill, every chat ends completed, failed or canceled. A bot's model is a
provider of the test's own that takes the request and never answers, so its chats surely run at the kill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cozepy import ChatEventType, ChatStatus, Coze, Message, SyncHTTPClient, TokenAuth
from pg_admin import admin_sql
from server_harness import free_port

PLAIT = str(Path(sys.executable).with_name("plait"))


@pytest.fixture
def silent_provider() -> Iterator[str]:
    """An OpenAI-compatible address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [PLAIT, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "plait serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "plait serve did not come up"
        time.sleep(0.2)


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([PLAIT, *args], env=env, capture_output=True, text=True, check=True).stdout


@contextmanager
def _database(database: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a ``plait serve`` over a fresh data dir (and, for PostgreSQL, a fresh database)."""
    env = {
        **os.environ,
        "PLAIT_DATA_DIR": str(tmp_path),
        "PLAIT_DATABASE_URL": "",
        "PLAIT_DEFAULT_MODEL": "scripted/echo",
    }
    name = None
    if database == "postgresql":
        name = f"plait_kill_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
        env["PLAIT_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        yield env
    finally:
        if name:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _bot(coze: Coze, plait: Killable, model_id: str) -> str:
    """A published bot on ``model_id``."""
    bot_id = coze.bots.create(space_id=plait.space_id, name=model_id).bot_id
    httpx.post(
        f"{plait.base_url}/v1/bot/update",
        headers={"Authorization": f"Bearer {plait.token}"},
        json={"bot_id": bot_id, "model_info_config": {"model_id": model_id}},
    ).raise_for_status()
    coze.bots.publish(bot_id=bot_id)
    return bot_id


@dataclass(slots=True)
class Killable:
    """A ``plait serve`` with the silent provider set and a key: killed with SIGKILL, then started again."""

    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes]
    token: str
    space_id: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill_and_restart(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = _serve(self.env, self.port)


@contextmanager
def _killable(database: str, silent_provider: str, tmp_path: Path) -> Iterator[Killable]:
    with _database(database, tmp_path) as env:
        port = free_port()
        plait = Killable(env, port, _serve(env, port), token="", space_id="")
        try:
            _cli(
                env, "providers", "set", "silent", "--kind", "openai_compat", "--base-url", silent_provider, "--model=m"
            )
            plait.token = _cli(env, "keys", "create").strip().splitlines()[-1]
            with SyncHTTPClient() as http:
                coze = Coze(auth=TokenAuth(plait.token), base_url=plait.base_url, http_client=http)
                plait.space_id = coze.workspaces.list().items[0].id
            yield plait
        finally:
            plait.process.kill()
            plait.process.wait(timeout=30)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_chat_of_a_killed_server_is_failed_at_the_next_start(
    database: str, silent_provider: str, tmp_path: Path
) -> None:
    with _killable(database, silent_provider, tmp_path) as plait:
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(plait.token), base_url=plait.base_url, http_client=http)
            bot_id = _bot(coze, plait, "silent/m")
            stream = coze.chat.stream(
                bot_id=bot_id, user_id="u", additional_messages=[Message.build_user_question_text("hello?")]
            )
            first = next(iter(stream))  # the chat is saved and running, waiting for the silent provider
            assert first.event == ChatEventType.CONVERSATION_CHAT_CREATED
            chat = first.chat
            plait.kill_and_restart()
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(plait.token), base_url=plait.base_url, http_client=http)
            retrieved = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert retrieved.status == ChatStatus.FAILED
    assert retrieved.last_error is not None and "stopped before it finished" in retrieved.last_error.msg


STREAMS = 50


async def _streamed_chats(base_url: str, token: str, bot_ids: list[str], started: list[dict[str, str]]) -> None:
    """``STREAMS`` streamed chats at once, spread over ``bot_ids``; each chat's ids go to ``started`` at its
    first event, and its stream is read until it ends or the server dies."""
    headers = {"Authorization": f"Bearer {token}"}
    question = {"role": "user", "content": "tell me " + "more " * 200, "content_type": "text"}

    async def one(http: httpx.AsyncClient, bot_id: str) -> None:
        body = {"bot_id": bot_id, "user_id": "u", "stream": True, "additional_messages": [question]}
        with contextlib.suppress(httpx.HTTPError):
            async with http.stream("POST", "/v3/chat", json=body) as response:
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line.removeprefix("event:").strip()
                    elif event == "conversation.chat.created" and line.startswith("data:"):
                        chat = json.loads(line.removeprefix("data:"))
                        started.append({"id": chat["id"], "conversation_id": chat["conversation_id"]})

    limits = httpx.Limits(max_connections=STREAMS)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits) as http:
        await asyncio.gather(*(one(http, bot_ids[i % len(bot_ids)]) for i in range(STREAMS)))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_chat_of_a_server_killed_amid_50_streams_ends(
    database: str, silent_provider: str, tmp_path: Path
) -> None:
    """Half the chats wait on the silent provider, half stream long echoes: at the kill some are done, the
    rest in flight. After the restart none is left running: each is completed, failed or canceled."""
    with _killable(database, silent_provider, tmp_path) as plait:
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(plait.token), base_url=plait.base_url, http_client=http)
            bots = [_bot(coze, plait, model) for model in ("silent/m", "scripted/echo")]
        started: list[dict[str, str]] = []
        chats = _streamed_chats(plait.base_url, plait.token, bots, started)
        streams = threading.Thread(target=asyncio.run, args=(chats,))
        streams.start()
        deadline = time.monotonic() + 60
        while len(started) < STREAMS:
            assert time.monotonic() < deadline, f"only {len(started)} chats started"
            time.sleep(0.05)
        plait.kill_and_restart()
        streams.join(timeout=60)
        with httpx.Client(base_url=plait.base_url, headers={"Authorization": f"Bearer {plait.token}"}) as http:
            statuses = [
                http.get(
                    "/v3/chat/retrieve", params={"chat_id": c["id"], "conversation_id": c["conversation_id"]}
                ).json()["data"]["status"]
                for c in started
            ]
    assert len({c["id"] for c in started}) == STREAMS
    assert set(statuses) <= {"completed", "failed", "canceled"}, statuses
    assert "failed" in statuses  # the silent provider's chats were running at the kill
