"""``kill -9`` in the middle of a chat: the chat a dead ``plait serve`` left ``in_progress`` is failed with a
reason when a server starts again (never left for ``create_and_poll`` to poll forever), on SQLite and
PostgreSQL. The bot's model is a provider of the test's own that takes the request and never answers, so the
chat is surely running when the server dies."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
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


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_chat_of_a_killed_server_is_failed_at_the_next_start(
    database: str, silent_provider: str, tmp_path: Path
) -> None:
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
    port = free_port()
    server = _serve(env, port)
    try:
        _cli(
            env, "providers", "set", "silent", "--kind", "openai_compat", "--base-url", silent_provider, "--model", "m"
        )
        token = _cli(env, "keys", "create").strip().splitlines()[-1]
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(token), base_url=f"http://127.0.0.1:{port}", http_client=http)
            space_id = coze.workspaces.list().items[0].id
            bot_id = coze.bots.create(space_id=space_id, name="waits").bot_id
            httpx.post(
                f"http://127.0.0.1:{port}/v1/bot/update",
                headers={"Authorization": f"Bearer {token}"},
                json={"bot_id": bot_id, "model_info_config": {"model_id": "silent/m"}},
            ).raise_for_status()
            coze.bots.publish(bot_id=bot_id)
            stream = coze.chat.stream(
                bot_id=bot_id, user_id="u", additional_messages=[Message.build_user_question_text("hello?")]
            )
            first = next(iter(stream))  # the chat is saved and running, waiting for the silent provider
            assert first.event == ChatEventType.CONVERSATION_CHAT_CREATED
            chat = first.chat
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        server = _serve(env, port)
        with SyncHTTPClient() as http:
            coze = Coze(auth=TokenAuth(token), base_url=f"http://127.0.0.1:{port}", http_client=http)
            retrieved = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
        assert retrieved.status == ChatStatus.FAILED
        assert retrieved.last_error is not None and "stopped before it finished" in retrieved.last_error.msg
    finally:
        server.kill()
        server.wait(timeout=30)
        if name:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
