"""Bad requests over raw HTTP: every failure is a Coze envelope with a stable code and an x-tt-logid header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_harness import MAX_BODY, Running, run_cli


@pytest.fixture(scope="module")
def http(server: Running) -> Iterator[httpx.Client]:
    token = server.make_key()
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def space_id(http: httpx.Client) -> str:
    space: str = http.get("/v1/workspaces").json()["data"]["workspaces"][0]["id"]
    return space


def envelope(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["data"] is None, body
    assert response.headers["x-tt-logid"]
    msg: str = body["msg"]
    return msg


def test_health_needs_no_key(server: Running) -> None:
    response = httpx.get(f"{server.base_url}/health")
    assert response.json() == {"status": "ok"} and response.headers["x-tt-logid"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pat_wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_bad_key(server: Running, headers: dict[str, str]) -> None:
    envelope(httpx.get(f"{server.base_url}/v1/users/me", headers=headers), 401, 4100)


def test_revoked_key(server: Running) -> None:
    token = server.make_key("--name", "short-lived")
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/v1/users/me").json()["code"] == 0
        key_id = next(
            line.split()[0] for line in run_cli(server.env, "keys", "list").splitlines() if "short-lived" in line
        )
        run_cli(server.env, "keys", "revoke", key_id)
        envelope(client.get("/v1/users/me"), 401, 4100)


def test_invalid_json(http: httpx.Client) -> None:
    response = http.post("/v1/bot/create", content=b"{not json", headers={"content-type": "application/json"})
    assert "invalid JSON" in envelope(response, 400, 4000)


def test_missing_and_wrong_typed_fields_are_named(http: httpx.Client, space_id: str) -> None:
    assert "name: Field required" in envelope(http.post("/v1/bot/create", json={"space_id": space_id}), 400, 4000)
    wrong = {"space_id": space_id, "name": "x", "model_info_config": {"model_id": "openai/gpt-4o", "top_k": "many"}}
    assert "model_info_config.top_k" in envelope(http.post("/v1/bot/create", json=wrong), 400, 4000)
    assert "space_id" in envelope(http.post("/v1/bot/create", json={"space_id": 7, "name": "x"}), 400, 4000)
    assert "page_size" in envelope(http.get("/v1/bots", params={"workspace_id": space_id, "page_size": 0}), 400, 4000)


def test_unknown_bot_and_route(http: httpx.Client) -> None:
    assert "9999" in envelope(http.get("/v1/bots/9999", params={"is_published": "false"}), 404, 4200)
    envelope(http.post("/v1/bot/update", json={"bot_id": "9999", "name": "x"}), 404, 4200)
    assert "no route" in envelope(http.get("/v1/nothing/here"), 404, 4200)


def test_oversized_body(http: httpx.Client, space_id: str) -> None:
    big = {"space_id": space_id, "name": "x", "description": "a" * MAX_BODY}
    envelope(http.post("/v1/bot/create", json=big), 413, 4001)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed length is what counts
        yield b'{"space_id": "1", "description": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"a" * 1024
        yield b'"}'

    response = http.post("/v1/bot/create", content=chunks(), headers={"content-type": "application/json"})
    envelope(response, 413, 4001)


def test_small_chunked_body_still_reaches_the_app(http: httpx.Client, space_id: str) -> None:
    body = f'{{"space_id": "{space_id}", "name": "chunked"}}'.encode()
    response = http.post(
        "/v1/bot/create", content=iter([body[:10], body[10:]]), headers={"content-type": "application/json"}
    )
    assert response.json()["code"] == 0, response.text
