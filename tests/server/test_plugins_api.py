"""Plugins through the API: an OpenAPI plugin against a real local service and an MCP server over stdio, bound
to bots whose scripted model calls them; every call and result a function_call / tool_output message, streamed
and not; the SSRF guard at call time; bad input of every endpoint a 4xx with a Coze code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cozepy import Chat, ChatEventType, ChatStatus, Coze, Message, ToolOutput
from server_harness import Running
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))
from tools_site import serve  # noqa: E402

SECRET = "pet-secret-123"


async def _pet(request: Request) -> JSONResponse:
    if request.headers.get("x-api-key") != SECRET:
        return JSONResponse({"error": "bad key"}, status_code=401)
    return JSONResponse({"id": request.path_params["pet_id"], "name": "Rex"})


@pytest.fixture(scope="module")
def pets() -> Iterator[str]:
    with serve(Starlette(routes=[Route("/pets/{pet_id}", _pet)])) as url:
        yield url


def _document(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": base_url}],
        "paths": {
            "/pets/{pet_id}": {
                "get": {
                    "operationId": "get_pet",
                    "summary": "Read a pet by id",
                    "parameters": [{"name": "pet_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "the pet"}},
                }
            }
        },
    }


def _call(server: Running, token: str, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.request(
        method, server.base_url + path, headers={"authorization": f"Bearer {token}"}, timeout=60, **kwargs
    )
    return response.status_code, response.json()


def _ok(server: Running, token: str, method: str, path: str, **kwargs: Any) -> Any:
    status, body = _call(server, token, method, path, **kwargs)
    assert (status, body["code"]) == (200, 0), body
    return body["data"]


def _openapi(space_id: str, name: str, base_url: str, **fields: Any) -> dict[str, Any]:
    auth = {"type": "api_key", "name": "x-api-key", "secret": SECRET}
    return (
        {"space_id": space_id, "name": name, "type": "openapi", "openapi": {"document": _document(base_url)}}
        | {"auth": auth}
        | fields
    )


def _bot(coze: Coze, server: Running, token: str, space_id: str, plugins: list[dict[str, str]], **extra: Any) -> str:
    bot_id = coze.bots.create(
        space_id=space_id, name="Pet bot", model_info_config={"model_id": "scripted/tools"}
    ).bot_id
    _ok(
        server, token, "POST", "/v1/bot/update", json={"bot_id": bot_id, "plugin_id_list": {"id_list": plugins}} | extra
    )
    coze.bots.publish(bot_id=bot_id)
    return bot_id


@pytest.fixture(scope="module")
def pet_plugin(server: Running, token: str, space_id: str, pets: str) -> dict[str, Any]:
    data: dict[str, Any] = _ok(
        server, token, "POST", "/v1/plugins/create", json=_openapi(space_id, "pets", pets, internal=True)
    )
    return data


def test_an_openapi_plugin_is_created_and_shown_without_its_secret(
    server: Running, token: str, space_id: str, pet_plugin: dict[str, Any]
) -> None:
    assert pet_plugin["type"] == "openapi" and pet_plugin["internal"] is True
    assert [api["api_id"] for api in pet_plugin["api_info_list"]] == ["get_pet"]
    assert pet_plugin["auth"] == {
        "type": "api_key",
        "name": "x-api-key",
        "location": "header",
        "username": "",
        "has_secret": True,
    }
    listed = _ok(server, token, "GET", "/v1/plugins/list", params={"space_id": space_id})
    ids = [item["plugin_id"] for item in listed["items"]]
    assert ids[:4] == ["builtin.http_request", "builtin.calculator", "builtin.clock", "builtin.code_runner"]
    assert pet_plugin["plugin_id"] in ids
    retrieved = _ok(server, token, "GET", "/v1/plugins/retrieve", params={"plugin_id": pet_plugin["plugin_id"]})
    assert retrieved["name"] == "pets" and SECRET not in json.dumps(listed) + json.dumps(retrieved)


def test_a_bot_calls_the_plugin_and_answers_with_its_result(
    server: Running, token: str, coze: Coze, space_id: str, pet_plugin: dict[str, Any]
) -> None:
    bot_id = _bot(coze, server, token, space_id, [{"plugin_id": pet_plugin["plugin_id"], "api_id": "get_pet"}])
    shown = _ok(server, token, "GET", f"/v1/bots/{bot_id}")
    (info,) = shown["plugin_info_list"]
    assert (info["name"], info["api_info_list"][0]["api_id"]) == ("pets", "get_pet")
    assert info["api_info_list"][0]["description"]
    question = Message.build_user_question_text('call get_pet {"pet_id": "7"}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[question])
    assert result.chat.status == ChatStatus.COMPLETED
    messages = result.messages or []
    assert [m.type for m in messages if m.type not in ("question", "verbose")] == [
        "function_call",
        "tool_output",
        "answer",
    ]
    output = next(m for m in messages if m.type == "tool_output")
    assert "Rex" in output.content and "Rex" in next(m for m in messages if m.type == "answer").content
    events = list(coze.chat.stream(user_id="u", bot_id=bot_id, additional_messages=[question]))
    completed = [e.message for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED]
    assert [m.type for m in completed][:3] == ["function_call", "tool_output", "answer"]
    assert json.loads(completed[0].content)["name"] == "get_pet" and "Rex" in completed[1].content
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED


def test_a_plugin_not_marked_internal_cannot_reach_this_host(
    server: Running, token: str, coze: Coze, space_id: str, pets: str
) -> None:
    plugin = _ok(server, token, "POST", "/v1/plugins/create", json=_openapi(space_id, "pets outside", pets))
    bot_id = _bot(coze, server, token, space_id, [{"plugin_id": plugin["plugin_id"], "api_id": "get_pet"}])
    question = Message.build_user_question_text('call get_pet {"pet_id": "7"}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[question])
    output = next(m for m in result.messages or [] if m.type == "tool_output")
    assert "refused" in output.content and "loopback" in output.content and "Rex" not in output.content


def test_approve_before_pauses_the_call_until_it_is_approved(
    server: Running, token: str, coze: Coze, space_id: str, pet_plugin: dict[str, Any]
) -> None:
    binding = [{"plugin_id": pet_plugin["plugin_id"], "api_id": "get_pet"}]
    bot_id = _bot(coze, server, token, space_id, binding, approve_before=["get_pet"])
    question = Message.build_user_question_text('call get_pet {"pet_id": "9"}')
    chat = coze.chat.create(user_id="u", bot_id=bot_id, additional_messages=[question])
    chat = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    while chat.status == ChatStatus.IN_PROGRESS:
        chat = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert chat.status == ChatStatus.REQUIRES_ACTION and chat.required_action is not None
    (call,) = chat.required_action.submit_tool_outputs.tool_calls
    done = coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id,
        chat_id=chat.id,
        tool_outputs=[ToolOutput(tool_call_id=call.id, output='{"approved": true}')],
        stream=False,
    )
    assert isinstance(done, Chat)
    while done.status == ChatStatus.IN_PROGRESS:
        done = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert done.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert "Rex" in next(m for m in messages if m.type == "answer").content


def test_an_mcp_server_over_stdio_is_a_plugin(server: Running, token: str, coze: Coze, space_id: str) -> None:
    body = {
        "space_id": space_id,
        "name": "echo mcp",
        "type": "mcp",
        "mcp": {"transport": "stdio", "command": sys.executable, "args": [str(TOOLS / "mcp_echo_server.py"), "stdio"]},
    }
    plugin = _ok(server, token, "POST", "/v1/plugins/create", json=body)
    assert {"add", "echo", "say_twice"} <= {api["api_id"] for api in plugin["api_info_list"]}
    retrieved = _ok(server, token, "GET", "/v1/plugins/retrieve", params={"plugin_id": plugin["plugin_id"]})
    assert retrieved["status"] == "ok"
    bot_id = _bot(coze, server, token, space_id, [{"plugin_id": plugin["plugin_id"], "api_id": "add"}])
    question = Message.build_user_question_text('call add {"a": 20, "b": 22}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[question])
    output = next(m for m in result.messages or [] if m.type == "tool_output")
    assert output.content == "42"


def test_a_plugin_a_bot_names_is_not_deleted(server: Running, token: str, coze: Coze, space_id: str, pets: str) -> None:
    plugin = _ok(server, token, "POST", "/v1/plugins/create", json=_openapi(space_id, "pets to delete", pets))
    plugin_id = plugin["plugin_id"]
    bot_id = _bot(coze, server, token, space_id, [{"plugin_id": plugin_id, "api_id": "get_pet"}])
    status, body = _call(server, token, "POST", "/v1/plugins/delete", json={"plugin_id": plugin_id})
    assert (status, body["code"]) == (400, 4000) and bot_id in body["msg"]
    _ok(server, token, "POST", "/v1/bot/update", json={"bot_id": bot_id, "plugin_id_list": {"id_list": []}})
    coze.bots.publish(bot_id=bot_id)
    _ok(server, token, "POST", "/v1/plugins/delete", json={"plugin_id": plugin_id})
    status, body = _call(server, token, "GET", "/v1/plugins/retrieve", params={"plugin_id": plugin_id})
    assert (status, body["code"]) == (404, 4200)


def test_update_replaces_the_auth(server: Running, token: str, space_id: str, pets: str) -> None:
    plugin = _ok(server, token, "POST", "/v1/plugins/create", json=_openapi(space_id, "pets auth", pets))
    changed = _ok(
        server,
        token,
        "POST",
        "/v1/plugins/update",
        json={"plugin_id": plugin["plugin_id"], "description": "new", "auth": {"type": "none"}},
    )
    assert (changed["description"], changed["auth"]["type"], changed["auth"]["has_secret"]) == ("new", "none", False)


BAD = (
    "openapi: 3.0.3\ninfo: {title: x, version: '1'}\n"
    "paths:\n  /a:\n    get:\n      parameters: [{name: q, in: nowhere}]\n"
)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "says"),
    [
        ("POST", "/v1/plugins/create", {"name": "x", "type": "openapi"}, 400, 4000, "space_id"),
        ("POST", "/v1/plugins/create", {"name": "x", "type": "soap"}, 400, 4000, "type"),
        ("POST", "/v1/plugins/create", {"name": "x", "type": "openapi"}, 400, 4000, "openapi"),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "openapi": {"document": "{"}},
            400,
            4000,
            "JSON",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "openapi": {"document": BAD}},
            400,
            4000,
            "problems",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "openapi": {"file_id": "123"}},
            404,
            4200,
            "file",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "openapi": {"url": "http://127.0.0.1:9/a"}},
            400,
            4000,
            "refused",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "openapi": {"document": "a", "url": "http://x"}},
            400,
            4000,
            "exactly one",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "mcp", "mcp": {"transport": "http", "url": "ftp://x"}},
            400,
            4000,
            "mcp.url",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "mcp", "mcp": {"transport": "stdio", "command": ""}},
            400,
            4000,
            "mcp.command",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "mcp", "mcp": {"transport": "stdio", "command": "/no/such/program"}},
            400,
            4000,
            "mcp",
        ),
        (
            "POST",
            "/v1/plugins/create",
            {"name": "x", "type": "openapi", "timeout_seconds": 0},
            400,
            4000,
            "timeout_seconds",
        ),
        ("POST", "/v1/plugins/update", {"plugin_id": "404"}, 404, 4200, "not found"),
        ("POST", "/v1/plugins/update", {"plugin_id": "builtin.clock", "description": "x"}, 400, 4000, "built in"),
        ("POST", "/v1/plugins/update", {}, 400, 4000, "plugin_id"),
        ("POST", "/v1/plugins/delete", {"plugin_id": "404"}, 404, 4200, "not found"),
        ("POST", "/v1/plugins/delete", {"plugin_id": "builtin.clock"}, 400, 4000, "built in"),
        ("GET", "/v1/plugins/retrieve?plugin_id=404", None, 404, 4200, "not found"),
        ("GET", "/v1/plugins/retrieve", None, 400, 4000, "plugin_id"),
        ("GET", "/v1/plugins/list?space_id=other", None, 404, 4200, "workspace"),
    ],
)
def test_bad_input_gets_a_coze_error(
    server: Running, token: str, space_id: str, method: str, path: str, body: Any, status: int, code: int, says: str
) -> None:
    if isinstance(body, dict) and path.endswith("create") and "space_id" not in (body or {}) and says != "space_id":
        body = {"space_id": space_id, **body}
    got_status, got = (
        _call(server, token, method, path, json=body) if body is not None else _call(server, token, method, path)
    )
    assert (got_status, got["code"]) == (status, code), got
    assert says in got["msg"]


def test_bad_auth_and_duplicates_are_refused(server: Running, token: str, space_id: str, pets: str) -> None:
    base = _openapi(space_id, "pets bad", pets)
    for auth, says in [
        ({"type": "bearer"}, "auth.secret"),
        ({"type": "api_key", "secret": "s"}, "auth.name"),
        ({"type": "api_key", "secret": "s", "name": "k", "location": "env"}, "auth.location"),
    ]:
        status, body = _call(server, token, "POST", "/v1/plugins/create", json=base | {"auth": auth})
        assert (status, body["code"]) == (400, 4000) and says in body["msg"], body
    _ok(server, token, "POST", "/v1/plugins/create", json=base)
    status, body = _call(server, token, "POST", "/v1/plugins/create", json=base)
    assert (status, body["code"]) == (400, 4000) and "already has a plugin" in body["msg"]


def test_members_cannot_start_commands_nor_mark_plugins_internal(server: Running, space_id: str, pets: str) -> None:
    member = server.make_key("--user", "mia-plugins", "--role", "member")
    command = {"transport": "stdio", "command": sys.executable, "args": ["-c", "pass"]}
    for body in (
        {"space_id": space_id, "name": "cmd", "type": "mcp", "mcp": command},
        _openapi(space_id, "internal pets", pets, internal=True),
    ):
        status, answer = _call(server, member, "POST", "/v1/plugins/create", json=body)
        assert (status, answer["code"]) == (403, 4101), answer


def test_bots_name_only_existing_plugins_and_operations(
    server: Running, token: str, coze: Coze, space_id: str, pet_plugin: dict[str, Any]
) -> None:
    bot_id = coze.bots.create(
        space_id=space_id, name="Checked", model_info_config={"model_id": "scripted/tools"}
    ).bot_id
    for plugins, extra, says in [
        ([{"plugin_id": "nope", "api_id": "x"}], {}, "plugin_id_list.id_list[0].plugin_id"),
        ([{"plugin_id": pet_plugin["plugin_id"], "api_id": "nope"}], {}, "get_pet"),
        (
            [{"plugin_id": "builtin.clock", "api_id": "current_time"}],
            {"approve_before": ["get_pet"]},
            "approve_before[0]",
        ),
    ]:
        status, body = _call(
            server,
            token,
            "POST",
            "/v1/bot/update",
            json={"bot_id": bot_id, "plugin_id_list": {"id_list": plugins}} | extra,
        )
        assert (status, body["code"]) == (400, 4000) and says in body["msg"], body
    plugins = [{"plugin_id": "builtin.calculator", "api_id": "calculator"}]
    _ok(server, token, "POST", "/v1/bot/update", json={"bot_id": bot_id, "plugin_id_list": {"id_list": plugins}})
    coze.bots.publish(bot_id=bot_id)
    question = Message.build_user_question_text('call calculator {"expression": "6 * 7"}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[question])
    assert "42" in next(m for m in result.messages or [] if m.type == "tool_output").content
