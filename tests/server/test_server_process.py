"""The quickstart, end to end: ``plait serve`` as its own process (two workers) on a fresh data dir, a key from
``plait keys create``, and the default bot answering through cozepy, the openai SDK and raw HTTP, on SQLite
(with the real local model, as ``make run`` serves it) and on PostgreSQL (with the scripted one)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from cozepy import ChatEventType, ChatStatus, Coze, Message, SyncHTTPClient, TokenAuth
from pg_admin import admin_sql
from server_harness import free_port

PLAIT = str(Path(sys.executable).with_name("plait"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(base URL, token, default model) of a ``plait serve`` process."""
    env = {**os.environ, "PLAIT_DATA_DIR": str(tmp_path_factory.mktemp("served")), "PLAIT_DATABASE_URL": ""}
    env["PLAIT_DEFAULT_MODEL"] = "local/gemma3-270m" if request.param == "sqlite" else "scripted/echo"
    database = None
    if request.param == "postgresql":
        database = f"plait_serve_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin_sql(f'CREATE DATABASE "{database}"'))
        env["PLAIT_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
    port = free_port()
    process = subprocess.Popen(
        [PLAIT, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "serve exited"
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "plait serve did not come up"
            time.sleep(0.2)
        keys = subprocess.run([PLAIT, "keys", "create"], env=env, capture_output=True, text=True, check=True)
        yield base, keys.stdout.strip().splitlines()[-1], env["PLAIT_DEFAULT_MODEL"]
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
        if database:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    assert b"Traceback" not in errors, errors.decode()


def test_the_default_bot_answers_through_every_face(served: tuple[str, str, str]) -> None:
    base, token, model = served
    question = "What is the capital of France?"
    with SyncHTTPClient() as http:
        coze = Coze(auth=TokenAuth(token), base_url=base, http_client=http)
        space_id = coze.workspaces.list().items[0].id
        bot = coze.bots.list(space_id=space_id).items[0]
        assert bot.bot_name == "Plait Assistant"
        events = list(
            coze.chat.stream(
                bot_id=bot.bot_id, user_id="me", additional_messages=[Message.build_user_question_text(question)]
            )
        )
        answer = "".join(e.message.content for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA)
        assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED and answer.strip()
        if model == "scripted/echo":
            assert answer == question
        # a chat run by one worker reads the same from any worker
        chat = events[-1].chat
        for _ in range(4):
            retrieved = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
            assert retrieved.status == ChatStatus.COMPLETED
    with openai.OpenAI(api_key=token, base_url=f"{base}/openai/v1", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="Plait Assistant", messages=[{"role": "user", "content": question}]
        )
        assert reply.choices[0].message.content
    raw = httpx.post(
        f"{base}/openai/v1/chat/completions",
        headers={"Authorization": f"Bearer {token}"},
        json={"model": "Plait Assistant", "messages": [{"role": "user", "content": question}]},
        timeout=60,
    )
    assert raw.status_code == 200 and raw.json()["choices"][0]["message"]["content"]


README = Path(__file__).resolve().parents[2] / "README.md"


def _quickstart_blocks(language: str) -> list[str]:
    """The README quickstart's code blocks that talk to the server of ``make run``."""
    blocks = README.read_text().split("```" + language + "\n")[1:]
    codes = [block.split("```", 1)[0] for block in blocks]
    return [code for code in codes if "127.0.0.1:8000" in code and not code.startswith("make run")]


def test_the_readme_quickstart_works_as_written(served: tuple[str, str, str]) -> None:
    base, token, _ = served
    env = {**os.environ, "PLAIT_KEY": token}
    python_blocks, shell_blocks = _quickstart_blocks("python"), _quickstart_blocks("bash")
    assert len(python_blocks) == 2 and len(shell_blocks) == 1
    for code in python_blocks:
        script = code.replace("http://127.0.0.1:8000", base)
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and result.stdout.strip(), result.stderr
    script = shell_blocks[0].replace("http://127.0.0.1:8000", base)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert '"chat.completion"' in result.stdout and "event: conversation.chat.completed" in result.stdout
