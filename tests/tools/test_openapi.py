"""OpenAPI plugins against a real local service: the document fetched through the guard, one tool per
operation, arguments placed where the document says, auth, errors the model can read, limits, and every kind
of bad document refused with all its problems listed."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from tools_site import serve

from plait.agents import ReactAgent, ToolResult
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message
from plait.tools.errors import BlockedAddress, InvalidArguments, InvalidOpenAPI, ToolTimeout, UpstreamError
from plait.tools.http_request import HttpLimits
from plait.tools.openapi import OpenAPIPlugin, PluginAuth, PluginConfig

DOCUMENT = """
openapi: 3.0.3
info: {title: Pet store, version: "1"}
servers: [{url: /v1}]
paths:
  /pets:
    get:
      operationId: listPets
      summary: List the pets.
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1}, description: How many.}
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
        - {name: X-Request-Id, in: header, schema: {type: string}}
    post:
      operationId: create pet!
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewPet'}
  /pets/{petId}:
    parameters:
      - {$ref: '#/components/parameters/PetId'}
    get:
      summary: One pet by id.
  /secure:
    get: {operationId: secure}
  /fail/{status}:
    get:
      operationId: fail
      parameters: [{name: status, in: path, required: true, schema: {type: integer}}]
  /huge:
    get: {operationId: huge}
  /slow:
    get: {operationId: slow}
  /away:
    get: {operationId: away}
components:
  parameters:
    PetId: {name: petId, in: path, required: true, schema: {type: string}}
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        owner: {type: string, nullable: true}
        parent: {$ref: '#/components/schemas/NewPet'}
"""


async def _pets(request: Request) -> Response:
    return JSONResponse(
        {
            "query": sorted(request.query_params.multi_items()),
            "request_id": request.headers.get("x-request-id"),
            "body": json.loads(await request.body() or b"null"),
        },
        status_code=201 if request.method == "POST" else 200,
    )


async def _pet(request: Request) -> Response:
    pet_id = request.path_params["pet_id"]
    if pet_id == "missing":
        return JSONResponse({"error": "no pet 'missing'"}, status_code=404)
    return JSONResponse({"id": pet_id})


async def _secure(request: Request) -> Response:
    headers, query = request.headers, request.query_params
    return JSONResponse(
        {"authorization": headers.get("authorization"), "x_api_key": headers.get("x-api-key"), "key": query.get("key")}
    )


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return PlainTextResponse("late")


APP = Starlette(
    routes=[
        Route("/openapi.yaml", lambda r: PlainTextResponse(DOCUMENT, media_type="application/yaml")),
        Route("/openapi.json", lambda r: JSONResponse(yaml.safe_load(DOCUMENT))),
        Route("/v1/pets", _pets, methods=["GET", "POST"]),
        Route("/v1/pets/{pet_id:path}", _pet),
        Route("/v1/secure", _secure),
        Route("/v1/fail/{status:int}", lambda r: PlainTextResponse("E" * 5000, status_code=r.path_params["status"])),
        Route("/v1/huge", lambda r: JSONResponse(["x" * 100] * 1000)),
        Route("/v1/slow", _slow),
        Route("/v1/away", lambda r: RedirectResponse("http://10.0.0.1/internal", status_code=302)),
    ]
)
LOCAL = PluginConfig(allowed_networks=("127.0.0.1/32",), limits=HttpLimits(timeout=5))


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(APP) as url:
        yield url


@pytest.fixture
async def plugin(base: str) -> OpenAPIPlugin:
    return await OpenAPIPlugin.from_url(f"{base}/openapi.yaml", LOCAL)


async def test_one_tool_per_operation_with_safe_unique_names(plugin: OpenAPIPlugin, base: str) -> None:
    assert plugin.title == "Pet store"
    names = [t.spec.name for t in plugin.tools]
    assert names == ["listPets", "create_pet", "get_pets_petId", "secure", "fail", "huge", "slow", "away"]
    assert {t.base_url for t in plugin.tools} == {f"{base}/v1"}  # the relative server, against the document's URL
    listing = plugin.tool("listPets").spec
    assert listing.description == "List the pets."
    assert listing.parameters["properties"]["limit"] == {"type": "integer", "minimum": 1, "description": "How many."}
    assert plugin.tool("get_pets_petId").spec.parameters["required"] == ["petId"]
    body = plugin.tool("create_pet").spec.parameters["properties"]["body"]
    assert body["properties"]["owner"]["type"] == ["string", "null"]  # 3.0's nullable, in JSON Schema
    assert body["properties"]["parent"]["description"].startswith("(recursive: another NewPet")
    assert plugin.tool("create_pet").spec.parameters["required"] == ["body"]


async def test_a_json_document_and_a_file_give_the_same_tools(base: str, tmp_path: Path) -> None:
    from_json = await OpenAPIPlugin.from_url(f"{base}/openapi.json", LOCAL)
    path = tmp_path / "pets.yaml"
    path.write_text(DOCUMENT)
    from_file = OpenAPIPlugin.from_file(path, PluginConfig(base_url=f"{base}/v1", allowed_networks=("127.0.0.1/32",)))
    assert [t.spec for t in from_json.tools] == [t.spec for t in from_file.tools]
    assert (await from_file.tool("get_pets_petId").call({"petId": "7"}))["body"] == {"id": "7"}


async def test_arguments_go_where_the_document_says(plugin: OpenAPIPlugin) -> None:
    listed = await plugin.tool("listPets").call({"limit": 2, "tags": ["a", "b"], "X-Request-Id": "r1"})
    assert listed == {
        "status": 200,
        "body": {"query": [["limit", "2"], ["tags", "a"], ["tags", "b"]], "request_id": "r1", "body": None},
        "truncated": False,
    }
    created = await plugin.tool("create_pet").call({"body": {"name": "Rex", "owner": None}})
    assert (created["status"], created["body"]["body"]) == (201, {"name": "Rex", "owner": None})
    one = await plugin.tool("get_pets_petId").call({"petId": "a b/../c"})
    assert one["body"] == {"id": "a b/../c"}  # encoded as one path segment, not a path


@pytest.mark.parametrize(
    ("tool", "arguments", "fields"),
    [
        ("listPets", {"limit": 0}, ["limit"]),
        ("listPets", {"limit": "two", "colour": "red"}, ["(arguments)", "limit"]),
        ("create_pet", {"body": {"owner": 3}}, ["body", "body.owner"]),
        ("get_pets_petId", {}, ["(arguments)"]),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    plugin: OpenAPIPlugin, tool: str, arguments: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(InvalidArguments) as caught:
        await plugin.tool(tool).call(arguments)
    assert caught.value.fields == fields


@pytest.mark.parametrize("status", [404, 422, 500, 503])
async def test_error_statuses_are_typed_errors_with_a_clipped_body(plugin: OpenAPIPlugin, status: int) -> None:
    with pytest.raises(UpstreamError) as caught:
        await plugin.tool("fail").call({"status": status})
    assert caught.value.status == status
    assert caught.value.body == "E" * 500 + "…"
    assert str(caught.value) == f"fail: the service answered HTTP {status}: {'E' * 500}…"


async def test_a_huge_body_is_truncated_and_a_slow_service_times_out(base: str) -> None:
    small = PluginConfig(allowed_networks=("127.0.0.1/32",), limits=HttpLimits(timeout=0.5, max_bytes=2000))
    plugin = await OpenAPIPlugin.from_url(f"{base}/openapi.yaml", small)
    huge = await plugin.tool("huge").call({})
    assert huge["truncated"] is True and len(huge["body"]) == 2000
    with pytest.raises(ToolTimeout):
        await plugin.tool("slow").call({})


async def test_the_guard_refuses_loopback_by_default_and_redirects_inside(base: str, plugin: OpenAPIPlugin) -> None:
    with pytest.raises(BlockedAddress, match="loopback"):
        await OpenAPIPlugin.from_url(f"{base}/openapi.yaml")
    with pytest.raises(BlockedAddress, match="loopback"):
        await OpenAPIPlugin.from_text(DOCUMENT, PluginConfig(base_url=f"{base}/v1")).tool("secure").call({})
    with pytest.raises(BlockedAddress, match=r"redirected to http://10\.0\.0\.1/internal\): refused"):
        await plugin.tool("away").call({})


async def test_an_internal_plugin_reaches_private_addresses(base: str) -> None:
    internal = await OpenAPIPlugin.from_url(f"{base}/openapi.yaml", PluginConfig(internal=True))
    assert (await internal.tool("get_pets_petId").call({"petId": "1"}))["status"] == 200


@pytest.mark.parametrize(
    ("auth", "seen"),
    [
        (PluginAuth(), {"authorization": None, "x_api_key": None, "key": None}),
        (PluginAuth.api_key("X-Api-Key", "k1"), {"authorization": None, "x_api_key": "k1", "key": None}),
        (PluginAuth.api_key("key", "k2", location="query"), {"authorization": None, "x_api_key": None, "key": "k2"}),
        (PluginAuth.bearer("t0k"), {"authorization": "Bearer t0k", "x_api_key": None, "key": None}),
        (
            PluginAuth.basic("ann", "pw"),
            {"authorization": "Basic " + base64.b64encode(b"ann:pw").decode(), "x_api_key": None, "key": None},
        ),
    ],
)
async def test_auth_kinds(base: str, auth: PluginAuth, seen: dict[str, Any]) -> None:
    config = PluginConfig(base_url=f"{base}/v1", auth=auth, allowed_networks=("127.0.0.1/32",))
    plugin = OpenAPIPlugin.from_text(DOCUMENT, config)
    assert (await plugin.tool("secure").call({}))["body"] == seen
    assert "pw" not in repr(auth) and "k1" not in repr(auth)


def test_auth_needs_what_its_kind_uses() -> None:
    with pytest.raises(ValueError, match="needs a secret"):
        PluginAuth(kind="bearer")
    with pytest.raises(ValueError, match="name of its header"):
        PluginAuth(kind="api_key", secret="s")
    with pytest.raises(ValueError, match="auth kind 'oauth'"):
        PluginAuth(kind="oauth", secret="s")  # type: ignore[arg-type]


async def test_a_react_agent_reads_a_failed_call(plugin: OpenAPIPlugin) -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("get_pets_petId", {"petId": "missing"}), "no such pet"])
    events = [e async for e in ReactAgent(model, tools=list(plugin.tools)).run([Message.user("pet?")])]
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.error and "HTTP 404" in result.output and "no pet 'missing'" in result.output


def _doc(paths: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"openapi": "3.1.0", "info": {"title": "t"}, "servers": [{"url": "https://api.test"}],
                       "paths": paths, **extra})  # fmt: skip


BAD = {
    "not JSON or YAML": ("{'openapi': [", ["neither JSON nor YAML"]),
    "a list": ("- a\n- b\n", ["the document is a list, not an object"]),
    "no version": (json.dumps({"paths": {"/a": {"get": {}}}}), ["openapi: missing"]),
    "swagger 2": (json.dumps({"swagger": "2.0", "openapi": "2.0", "paths": {}}), ["version '2.0' is not supported"]),
    "no operations": (_doc({}), ["paths: the document has no operations"]),
    "missing ref": (
        _doc({"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}]}}}),
        ["paths./a.get.parameters[0]: '#/components/parameters/Nope' points to nothing"],
    ),
    "remote ref": (
        _doc({"/a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "x.yaml#/S"}}}}}}}),
        ["paths./a.post.requestBody: 'x.yaml#/S' points outside this document"],
    ),
    "ref cycle": (
        _doc({"/a": {"$ref": "#/components/x"}}, components={"x": {"$ref": "#/components/y"},
                                                             "y": {"$ref": "#/components/x"}}),
        ["paths./a: reference cycle: #/components/x -> #/components/y -> #/components/x"],
    ),
    "duplicate operationIds": (
        _doc({"/a": {"get": {"operationId": "same"}}, "/b": {"post": {"operationId": "same"}}}),
        ["paths./b.post: operationId 'same' is also used by paths./a.get"],
    ),
    "undeclared path parameter": (
        _doc({"/a/{id}": {"get": {}}}), ["paths./a/{id}.get: path parameter {id} is not declared"]
    ),
    "no server": (
        json.dumps({"openapi": "3.0.0", "paths": {"/a": {"get": {}}}}),
        ["paths./a.get: no absolute server URL (servers[0].url); give a base_url"],
    ),
    "invalid schema": (
        _doc({"/a": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": 5}}]}}}),
        ["paths./a.get: the arguments' schema is not valid JSON Schema"],
    ),
    "yaml bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
        ["the document expands to over 200,000 values"],
    ),
    "too deep YAML": ("[" * 5_000, ["the document nests too deeply"]),
    "too deep JSON": ('{"a":' * 100_000 + "1" + "}" * 100_000, ["the document nests too deeply"]),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_documents_are_refused_with_the_place_of_each_problem(case: str) -> None:
    text, expected = BAD[case]
    with pytest.raises(InvalidOpenAPI) as caught:
        OpenAPIPlugin.from_text(text)
    assert len(caught.value.problems) == len(expected), caught.value.problems
    for problem, start in zip(caught.value.problems, expected, strict=True):
        assert start in problem
    assert str(caught.value).startswith(f"<text>: not a usable OpenAPI document ({len(expected)} problems)")


def test_every_problem_is_listed_not_just_the_first() -> None:
    text = json.dumps(
        {
            "openapi": "3.0.0",
            "servers": [{"url": "https://api.test"}],
            "paths": {
                "no-slash": {"get": {}},
                "/a/{id}": {"get": {"operationId": "x", "parameters": [{"name": "q", "in": "body"}]}},
                "/b": {"get": {"operationId": "x", "parameters": [{"name": "id", "in": "path"}]}},
            },
        }
    )
    with pytest.raises(InvalidOpenAPI) as caught:
        OpenAPIPlugin.from_text(text)
    assert caught.value.problems == [
        "paths.no-slash: a path starts with '/'",
        "paths./a/{id}.get.parameters[0]: parameter 'q': 'in' must be path, query, header or cookie, not 'body'",
        "paths./a/{id}.get: path parameter {id} is not declared",
        "paths./b.get.parameters[0]: path parameter 'id' must be required: true",
        "paths./b.get: operationId 'x' is also used by paths./a/{id}.get",
    ]


def test_names_are_sanitised_cut_and_made_unique() -> None:
    long_path = "/" + "/".join(["segment"] * 12)
    text = _doc(
        {"/a": {"get": {"operationId": "list pets"}, "post": {"operationId": "list.pets"}}, long_path: {"get": {}}}
    )
    names = [t.spec.name for t in OpenAPIPlugin.from_text(text).tools]
    assert names[:2] == ["list_pets", "list_pets_2"]
    assert len(names[2]) == 64 and names[2].startswith("get_segment_segment")


def test_missing_files_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidOpenAPI, match="cannot read the file"):
        OpenAPIPlugin.from_file(tmp_path / "nope.yaml")
