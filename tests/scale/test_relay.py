"""The Redis parts in one process, on the machine's Redis: a chat run's events relayed as batches and followed
from the first, the per-instance cancel channel, and ``/ready`` naming Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_harness import free_port

from plait.platform.chat.events import (
    ChatCompleted,
    ChatCreated,
    ChatFailed,
    ChatRequiresAction,
    EventLog,
    MessageCompleted,
    MessageDelta,
    RunEnded,
    RunEvent,
)
from plait.platform.chat.records import ChatError, ChatState, ChatUsage, MessageRecord, PendingToolCalls
from plait.platform.chat.relay import RedisRunBus, decode, encode
from plait.schema import ToolCall
from plait.server.app import create_app
from plait.settings import Settings
from plait.store.redis_hub import RedisHub

STATE = ChatState(
    id="7",
    conversation_id="3",
    bot_id="2",
    section_id="4",
    created_at=1_700_000_000,
    meta_data={"k": "v"},
    status="in_progress",
    usage=ChatUsage(token_count=9, output_count=4, input_count=5),
)
ANSWER = MessageRecord(
    id="8",
    conversation_id="3",
    bot_id="2",
    chat_id="7",
    section_id="4",
    role="assistant",
    type="answer",
    content="",
    content_type="text",
    meta_data={},
    created_at=1_700_000_001,
    updated_at=1_700_000_001,
)


def _every_kind() -> list[RunEvent]:
    pending = PendingToolCalls(calls=(ToolCall(id="c1", name="lookup", arguments='{"q": "x"}'),), approvals=("c1",))
    return [
        ChatCreated(STATE),
        MessageDelta(ANSWER, "Hel", ""),
        MessageDelta(ANSWER, "lo", "thinking"),
        MessageCompleted(ANSWER),
        ChatRequiresAction(ChatState(**{**_fields(STATE), "status": "requires_action", "pending": pending})),
        ChatFailed(ChatState(**{**_fields(STATE), "status": "failed", "last_error": ChatError(5001, "model down")})),
        ChatCompleted(ChatState(**{**_fields(STATE), "status": "completed", "completed_at": 1_700_000_009})),
        RunEnded(),
    ]


def _fields(state: ChatState) -> dict[str, object]:
    return {name: getattr(state, name) for name in state.__dataclass_fields__}


def test_every_event_survives_the_wire() -> None:
    events = _every_kind()
    decoded = decode(encode(events))
    assert decoded == events
    assert decoded[1].message is decoded[2].message  # type: ignore[union-attr]  # one record per answer


@pytest.fixture
async def bus(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisRunBus]:
    hub = RedisHub(redis_url, redis_prefix)
    relay = RedisRunBus(hub)
    yield relay
    await relay.aclose()
    await hub.aclose()


async def _over() -> bool:
    return False


async def test_a_run_is_followed_live_and_after_it_ended(bus: RedisRunBus) -> None:
    log = EventLog()
    bus.forward("live", log)
    log.append(ChatCreated(STATE))
    followed: list[RunEvent] = []

    async def follow() -> None:
        async for batch in bus.follow("live", _over):
            followed.extend(batch)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.1)
    for piece in ("a", "b", "c") * 100:
        log.append(MessageDelta(ANSWER, piece, ""))
    log.append(ChatCompleted(STATE))
    log.close()
    await asyncio.wait_for(follower, 10)
    assert followed == log.events
    late = [event async for batch in bus.follow("live", _over) for event in batch]
    assert late == log.events  # from the first event, for a follower that comes after the end
    entries = await bus._hub.redis.xlen(bus._hub.key("chat", "live", "events"))
    assert entries < len(log.events) / 10  # one entry per batch, not per delta


async def test_a_run_with_no_events_and_no_process_ends_at_once(bus: RedisRunBus) -> None:
    assert [batch async for batch in bus.follow("never", _over)] == []


async def test_a_cancel_reaches_the_instance_it_is_sent_to(bus: RedisRunBus) -> None:
    stopped: list[str] = []
    bus.on_cancel("instance-a", stopped.append)
    bus.on_cancel("instance-b", lambda chat_id: stopped.append(f"b got {chat_id}"))
    for _ in range(50):  # subscribed once a message gets through
        await bus.cancel("instance-a", "probe")
        await asyncio.sleep(0.05)
        if stopped:
            break
    await bus.cancel("instance-a", "42")
    for _ in range(50):
        if "42" in stopped:
            break
        await asyncio.sleep(0.02)
    assert "42" in stopped and not any(item.startswith("b got") for item in stopped)


def _settings(tmp_path: Path, redis_url: str, prefix: str) -> Settings:
    return Settings.load(
        data_dir=tmp_path, database_url="", embedder="hashing", redis_url=redis_url, redis_prefix=prefix
    )


def test_ready_checks_redis(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    with TestClient(create_app(_settings(tmp_path, redis_url, redis_prefix))) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "models": "ok", "redis": "ok"}


def test_ready_fails_naming_redis_when_it_is_down(tmp_path: Path, redis_prefix: str) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    with TestClient(create_app(_settings(tmp_path, nobody, redis_prefix))) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert response.json()["checks"]["redis"].startswith("unreachable (")
