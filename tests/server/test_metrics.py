"""``/metrics``, ``/ready`` and the HTTP middleware around a real server: requests by route template, a chat's
tokens and outcome, an open event stream, and who may read the metrics."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cozepy import Coze
from prometheus_client.parser import text_string_to_metric_families
from server_harness import Running
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from plait.observability.metrics import SSE_OPEN
from plait.platform import access, audit, readiness
from plait.platform.services import Services, admin_unit_of_work
from plait.server import create_app
from plait.server.metrics import HttpMetricsMiddleware
from plait.settings import Settings


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and labels.items() <= found.labels.items():
                total += found.value
    return total


def scrape(server: Running) -> str:
    response = httpx.get(f"{server.base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_count_by_route_template_not_path(server: Running, token: str) -> None:
    headers = {"authorization": f"Bearer {token}"}
    before = scrape(server)
    for bot_id in ("7000000000000000001", "7000000000000000002"):
        httpx.get(f"{server.base_url}/v1/bots/{bot_id}", headers=headers)
    httpx.get(f"{server.base_url}/no/such/path")
    after = scrape(server)
    route = {"method": "GET", "route": "/v1/bots/{bot_id}"}
    assert (
        sample(after, "plait_http_requests_total", **route) - sample(before, "plait_http_requests_total", **route) == 2
    )
    assert sample(after, "plait_http_request_duration_seconds_count", **route) >= 2
    assert sample(after, "plait_http_requests_total", route="<unmatched>", status="404") >= 1
    assert "7000000000000000001" not in after


def test_a_streamed_chat_counts_its_tokens_and_outcome(coze: Coze, token: str, space_id: str) -> None:
    bot_id = coze.bots.create(space_id=space_id, name="metered", model_info_config={"model_id": "scripted/echo"}).bot_id
    coze.bots.publish(bot_id=bot_id)
    base = coze._base_url
    body = {"bot_id": bot_id, "user_id": "u1", "stream": True, "additional_messages": [_question()]}
    headers = {"authorization": f"Bearer {token}"}
    with httpx.stream("POST", f"{base}/v3/chat", json=body, headers=headers, timeout=30) as response:
        assert any("conversation.chat.completed" in line for line in response.iter_lines())
    after = httpx.get(f"{base}/metrics").text
    model = {"model": "scripted/echo"}
    assert sample(after, "plait_chats_total", status="completed", **model) >= 1
    assert sample(after, "plait_model_tokens_total", direction="output", **model) > 0
    assert sample(after, "plait_model_call_duration_seconds_count", **model) >= 1
    assert sample(after, "plait_node_duration_seconds_count", kind="node", node="agent") >= 1
    assert sample(after, "plait_model_cost_usd_total", **model) == 0  # a scripted model costs nothing


def _question() -> dict[str, str]:
    return {"role": "user", "content": "count my tokens", "content_type": "text"}


def test_ready_names_its_checks(server: Running) -> None:
    response = httpx.get(f"{server.base_url}/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "models": "ok"}}


async def _key(settings: Settings, user: str, role: str) -> str:
    async with admin_unit_of_work(settings) as uow:
        admin = await access.bootstrap(uow)
        actor = audit.Actor(admin.id, audit.CLI)
        workspace = await access.find_or_create_workspace(uow, actor, admin, None)
        member = admin if user == admin.name else await access.find_or_add_member(uow, actor, workspace, user, role)
        new = await access.create_key(uow, actor, workspace_id=workspace.id, user_id=member.id, name=user, scopes=[])
    return new.token


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, str]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("remote"), database_url="", embedder="hashing")
    admin = asyncio.run(_key(settings, access.ADMIN_NAME, "owner"))
    member = asyncio.run(_key(settings, "someone", "member"))
    return settings, admin, member


def test_metrics_from_another_host_need_an_admin_key(remote: tuple[Settings, str, str]) -> None:
    settings, admin, member = remote
    with TestClient(create_app(settings), client=("10.1.2.3", 40000)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"authorization": f"Bearer {member}"}).status_code == 403
        allowed = client.get("/metrics", headers={"authorization": f"Bearer {admin}"})
        assert allowed.status_code == 200 and "plait_http_requests_total" in allowed.text


def test_ready_fails_naming_the_database(remote: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings, _, _ = remote

    def broken(_: Services) -> object:
        raise ConnectionRefusedError("the database is down")

    with TestClient(create_app(settings)) as client, monkeypatch.context() as patch:
        patch.setattr(Services, "unit_of_work", broken)
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert response.json()["checks"]["database"] == "unreachable (ConnectionRefusedError)"


def test_ready_fails_naming_the_model_registry(
    remote: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> object:
        raise RuntimeError("no registry")

    settings, _, _ = remote
    with TestClient(create_app(settings)) as client, monkeypatch.context() as patch:
        patch.setattr(readiness, "default_registry", broken)
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "models": "the model registry failed (RuntimeError)"},
        "failing": ["models"],
    }


async def test_an_event_stream_is_open_until_its_last_byte() -> None:
    seen: list[float] = []

    async def sse(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        seen.append(SSE_OPEN._value.get())
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    before = SSE_OPEN._value.get()
    transport = httpx.ASGITransport(app=HttpMetricsMiddleware(sse))
    async with httpx.AsyncClient(transport=transport, base_url="http://plait") as client:
        await client.get("/stream")
    assert seen == [before + 1]
    assert SSE_OPEN._value.get() == before
