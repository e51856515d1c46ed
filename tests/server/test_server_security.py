"""Key scopes, last-used stamps, the public routes (health, docs, OpenAPI schema), CORS and secure headers."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from server_harness import Running

from plait.platform.access import UsageThrottle
from plait.server import create_app
from plait.server.deps import require_scope
from plait.settings import Settings
from plait.store import UnitOfWork, create_engine, session_factory
from plait.store.base import now
from plait.store.repositories.access import hash_token

PUBLIC = {"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"}
ORIGIN = "https://studio.example"


def _get(server: Running, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", headers={"Authorization": f"Bearer {token}"})


# --- scopes -------------------------------------------------------------------------------------------------------


def test_a_scoped_key_reaches_its_area_only(server: Running) -> None:
    token = server.make_key("--scope", "bots")
    assert _get(server, "/v1/bots/123", token).json()["code"] == 4200  # past the scope check: just not found
    for path, scope in [
        ("/v1/users/me", "workspaces"),
        ("/v1/conversation/retrieve?conversation_id=1", "chat"),
        ("/v1/files/retrieve?file_id=1", "files"),
    ]:
        response = _get(server, path, token)
        assert response.status_code == 403, path
        assert response.json() == {
            "code": 4101,
            "msg": f"this API key lacks the {scope!r} scope; it has: bots",
            "data": None,
        }


def test_the_openai_api_needs_the_chat_scope(server: Running) -> None:
    denied = _get(server, "/openai/v1/models", server.make_key("--scope", "workspaces", "--scope", "files"))
    assert denied.status_code == 403
    assert denied.json() == {
        "error": {
            "message": "this API key lacks the 'chat' scope; it has: workspaces, files",
            "type": "permission_error",
            "param": None,
            "code": "forbidden",
        }
    }
    chat = server.make_key("--scope", "chat")
    assert _get(server, "/openai/v1/models", chat).status_code == 200
    assert _get(server, "/v1/bots/123", chat).json()["code"] == 4101


def test_every_route_outside_a_scope_refuses_a_key_without_it(server: Running) -> None:
    """Walks the served schema with a key scoped to workspaces, so a router added without a scope fails here."""
    token = server.make_key("--scope", "workspaces")
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    own = PUBLIC | {"/v1/users/me", "/v1/workspaces"}
    operations = [(method, path) for path, item in schema["paths"].items() for method in item if path not in own]
    for method, path in operations:
        url = server.base_url + re.sub(r"{[^}]+}", "x", path)
        response = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, f"{method} {path}: {response.status_code} {response.text}"


def test_a_key_without_scopes_reaches_every_area(server: Running) -> None:
    token = server.make_key()
    assert _get(server, "/v1/users/me", token).status_code == 200
    assert _get(server, "/openai/v1/models", token).status_code == 200
    assert _get(server, "/v1/bots/123", token).json()["code"] == 4200


def test_require_scope_rejects_a_typo_when_the_router_is_built() -> None:
    with pytest.raises(ValueError, match="unknown scope 'bot'; known scopes: bots, chat"):
        require_scope("bot")


# --- who needs a token ----------------------------------------------------------------------------------------------


def test_every_route_but_the_public_ones_needs_a_token(server: Running) -> None:
    """Walks the served schema, so a route added later without ``Caller`` fails here."""
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    operations = [(method, path) for path, item in schema["paths"].items() for method in item if path not in PUBLIC]
    assert len(operations) > 20
    for method, path in operations:
        response = httpx.request(method, server.base_url + re.sub(r"{[^}]+}", "x", path))
        assert response.status_code == 401, f"{method} {path}: {response.status_code} {response.text}"
    for path in PUBLIC - {"/docs/oauth2-redirect"}:
        assert httpx.get(f"{server.base_url}{path}").status_code == 200, path


def test_the_openapi_schema_lists_the_routes_and_the_bearer_scheme(server: Running) -> None:
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    for path in ("/v1/bot/create", "/v1/conversation/message/list", "/v1/files/upload", "/openai/v1/chat/completions"):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/v1/bot/create"]["post"]["security"] == [{"HTTPBearer": []}]
    docs = httpx.get(f"{server.base_url}/docs")
    assert "swagger-ui" in docs.text and "/openapi.json" in docs.text


# --- last_used_at -----------------------------------------------------------------------------------------------------


async def _last_used(server: Running, token: str, *, reset_to: int | None = None) -> int | None:
    """The token's ``last_used_at`` as stored, then set to ``reset_to`` when given."""
    settings = Settings.load(data_dir=Path(server.env["PLAIT_DATA_DIR"]), database_url=server.env["PLAIT_DATABASE_URL"])
    engine = create_engine(settings.database_url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            key = await uow.api_keys.find_active(hash_token(token), now())
            assert key is not None
            used = key.last_used_at
            if reset_to is not None:
                key.last_used_at = reset_to
            return used
    finally:
        await engine.dispose()


def test_last_used_at_is_written_on_use_at_most_once_a_minute(server: Running) -> None:
    token = server.make_key()
    assert asyncio.run(_last_used(server, token)) is None
    before = now()
    assert _get(server, "/v1/bots/123", token).status_code == 404  # a failed request still used the key
    deadline = time.monotonic() + 5
    while (used := asyncio.run(_last_used(server, token))) is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the use is written in a short transaction of its own, after the response
    assert used is not None and before <= used <= now()
    asyncio.run(_last_used(server, token, reset_to=1))
    assert _get(server, "/v1/users/me", token).status_code == 200
    assert asyncio.run(_last_used(server, token)) == 1  # within the minute: no second write


def test_the_usage_throttle_lets_one_write_through_per_key_and_interval() -> None:
    throttle = UsageThrottle(interval=60)
    assert throttle.claim("k1", 1000)
    assert not throttle.claim("k1", 1059)
    assert throttle.claim("k2", 1059)
    assert throttle.claim("k1", 1060)
    assert not throttle.claim("k1", 1061)


# --- secure headers and CORS --------------------------------------------------------------------------------------


def test_responses_carry_the_secure_headers(server: Running) -> None:
    response = httpx.get(f"{server.base_url}/health", headers={"Origin": ORIGIN})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers
    assert "access-control-allow-origin" not in response.headers  # no cors_origins: CORS is off
    assert "x-tt-logid" in response.headers


def test_an_sse_stream_keeps_its_cache_control_and_streams(server: Running) -> None:
    body = {"model": "scripted/echo", "messages": [{"role": "user", "content": "hi there"}], "stream": True}
    headers = {"Authorization": f"Bearer {server.make_key('--scope', 'chat')}"}
    with httpx.stream("POST", f"{server.base_url}/openai/v1/chat/completions", json=body, headers=headers) as response:
        assert response.headers.get_list("cache-control") == ["no-cache"]
        assert response.headers["x-content-type-options"] == "nosniff"
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines[:-1])
    assert text == "hi there"


@pytest.fixture
async def cors_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on SQLite with one allowed origin, in process (lifespan run by hand: ASGITransport skips it)."""
    app: FastAPI = create_app(Settings.load(data_dir=tmp_path, cors_origins=[ORIGIN], behind_https=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://plait") as client:
            yield client


async def test_a_preflight_from_an_allowed_origin_is_answered(cors_client: httpx.AsyncClient) -> None:
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-stainless-lang",
    }
    response = await cors_client.options("/v1/bot/create", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"


async def test_a_preflight_from_another_origin_is_refused(cors_client: httpx.AsyncClient) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    response = await cors_client.options("/v1/bot/create", headers=headers)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    plain = await cors_client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


async def test_an_error_is_readable_cross_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get("/v1/workspaces", headers={"Origin": ORIGIN})
    assert response.status_code == 401 and response.json()["code"] == 4100
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "x-tt-logid"
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_secure_headers_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path, secure_headers=False, behind_https=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://plait") as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert not {"x-frame-options", "cache-control", "strict-transport-security"} & set(response.headers)
