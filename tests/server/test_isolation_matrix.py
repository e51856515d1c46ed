"""Every route of the app (the studio's included) against every kind of caller, on SQLite and PostgreSQL:
an owner, a member, a viewer, the owner of another workspace, a revoked key, and a key short of the route's
scope. The table below names each route's scope and what it changes; the routes are read from the app, so a
new route without a line here fails the test until someone says who may call it.

What each caller must get: a revoked key 401 everywhere a key is needed; a key without the route's scope
403 (the studio refuses any scoped key); another workspace's owner a 4xx for any request that names this
workspace's resources, and no answer that shows one of their ids; a viewer 403 on every route that changes
something; a member 403 on the owners' routes (keys, providers); owner and member pass everywhere else. No
caller ever gets a 5xx."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from server_harness import Running, run_cli

from plait.server import create_app
from plait.settings import Settings

sys.path.append(str(Path(__file__).resolve().parents[1] / "fuzz"))
from fuzzing import WORKFLOW, seed_resources  # the fuzzer's seeding: one of each resource


@dataclass(frozen=True)
class Entry:
    scope: str | None  # the key scope the route needs; "studio": a key without scopes; None: no key at all
    write: bool = False  # it changes something: a viewer is refused
    owners: bool = False  # workspace owners and admins only
    # What a viewer's write gets: 403, or 400 where the request is checked against the resource's state
    # first (it reads nothing a viewer may not read).
    refused: int = 403
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


PUBLIC = Entry(None)
CONV = {"conversation_id": "{conversation}"}
CHAT = {"conversation_id": "{conversation}", "chat_id": "{chat}"}
MESSAGE = {"conversation_id": "{conversation}", "message_id": "{message}"}
QUESTION = {"role": "user", "content": "hi", "content_type": "text"}
WORKFLOW_TEXT = json.dumps(WORKFLOW | {"name": "matrix_flow"})
MATRIX: dict[str, Entry] = {
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /metrics": PUBLIC,  # from loopback; another host needs an owner's key (test_metrics)
    "GET /": PUBLIC,
    "MOUNT /studio/static": PUBLIC,
    "POST /v1/bot/create": Entry("bots", write=True, body={"space_id": "{space}", "name": "m"}),
    "POST /v1/bot/update": Entry("bots", write=True, body={"bot_id": "{bot}", "description": "d"}),
    "POST /v1/bot/publish": Entry("bots", write=True, body={"bot_id": "{bot}"}),
    "POST /v1/bots/{bot_id}/unpublish": Entry("bots", write=True, body={}),
    "GET /v1/bot/get_online_info": Entry("bots", query={"bot_id": "{bot}"}),
    "GET /v1/bots/{bot_id}": Entry("bots"),
    "GET /v1/space/published_bots_list": Entry("bots", query={"space_id": "{space}"}),
    "GET /v1/bots": Entry("bots", query={"workspace_id": "{space}"}),
    "POST /v3/chat": Entry(
        "chat", write=True, query=CONV, body={"bot_id": "{bot}", "user_id": "m", "additional_messages": [QUESTION]}
    ),
    "POST /v3/chat/retrieve": Entry("chat", query=CHAT),
    "GET /v3/chat/retrieve": Entry("chat", query=CHAT),
    "GET /v3/chat/message/list": Entry("chat", query=CHAT),
    "POST /v3/chat/submit_tool_outputs": Entry(
        "chat", write=True, query=CHAT, body={"tool_outputs": [{"tool_call_id": "t", "output": "o"}]}
    ),
    "POST /v3/chat/cancel": Entry("chat", write=True, body=CHAT),
    "GET /v3/chat/stream": Entry("chat", query=CHAT),
    "POST /v1/conversation/create": Entry("chat", write=True, body={"bot_id": "{bot}"}),
    "GET /v1/conversation/retrieve": Entry("chat", query=CONV),
    "GET /v1/conversations": Entry("chat", query={"bot_id": "{bot}"}),
    "PUT /v1/conversations/{conversation_id}": Entry("chat", write=True, body={"name": "renamed"}),
    "DELETE /v1/conversations/{conversation_id}": Entry("chat", write=True),
    "POST /v1/conversations/{conversation_id}/clear": Entry("chat", write=True),
    "POST /v1/conversation/message/create": Entry(
        "chat", write=True, query=CONV, body={"role": "user", "content": "x", "content_type": "text"}
    ),
    "POST /v1/conversation/message/list": Entry("chat", query=CONV, body={}),
    "GET /v1/conversation/message/retrieve": Entry("chat", query=MESSAGE),
    "POST /v1/conversation/message/modify": Entry("chat", write=True, query=MESSAGE, body={"content": "y"}),
    "POST /v1/conversation/message/delete": Entry("chat", write=True, query=MESSAGE),
    "POST /v1/conversations/{conversation_id}/messages/{message_id}/feedback": Entry(
        "chat", write=True, body={"feedback_type": "like"}
    ),
    "DELETE /v1/conversations/{conversation_id}/messages/{message_id}/feedback": Entry("chat", write=True),
    "POST /v1/datasets": Entry("datasets", write=True, body={"name": "m", "space_id": "{space}", "format_type": 0}),
    "GET /v1/datasets": Entry("datasets", query={"space_id": "{space}"}),
    "PUT /v1/datasets/{dataset_id}": Entry("datasets", write=True, body={"name": "renamed"}),
    "DELETE /v1/datasets/{dataset_id}": Entry("datasets", write=True),
    "POST /v1/datasets/{dataset_id}/process": Entry("datasets", body={"document_ids": ["{document}"]}),
    "POST /open_api/knowledge/document/create": Entry(
        "datasets",
        write=True,
        body={
            "dataset_id": "{dataset}",
            "document_bases": [{"name": "b.txt", "source_info": {"file_base64": "aGk=", "file_type": "txt"}}],
        },
    ),
    "POST /open_api/knowledge/document/update": Entry(
        "datasets", write=True, body={"document_id": "{document}", "document_name": "c.txt"}
    ),
    "POST /open_api/knowledge/document/delete": Entry("datasets", write=True, body={"document_ids": ["{document}"]}),
    "POST /open_api/knowledge/document/list": Entry("datasets", body={"dataset_id": "{dataset}"}),
    "POST /v1/files/upload": Entry("files", write=True),  # the multipart file is added when sending
    "GET /v1/files/retrieve": Entry("files", query={"file_id": "{file}"}),
    "GET /v1/variables": Entry("chat", query={"bot_id": "{bot}", "connector_uid": "u"}),
    "PUT /v1/variables": Entry(
        "chat", write=True, body={"bot_id": "{bot}", "connector_uid": "u", "data": [{"keyword": "k", "value": "v"}]}
    ),
    "GET /v1/sessions": Entry("chat", query={"bot_id": "{bot}"}),
    "POST /v1/plugins/create": Entry(
        "bots",
        write=True,
        body={"space_id": "{space}", "name": "m", "type": "mcp", "mcp": {"transport": "http", "url": "http://x/"}},
    ),
    "GET /v1/plugins/list": Entry("bots", query={"space_id": "{space}"}),
    "GET /v1/plugins/retrieve": Entry("bots", query={"plugin_id": "{plugin}"}),
    "POST /v1/plugins/update": Entry("bots", write=True, body={"plugin_id": "{plugin}", "description": "d"}),
    "POST /v1/plugins/delete": Entry("bots", write=True, body={"plugin_id": "{plugin}"}),
    "POST /v1/workflow/run": Entry(
        "workflows", write=True, body={"workflow_id": "{workflow}", "parameters": {"text": "hi"}}
    ),
    "POST /v1/workflow/stream_run": Entry(
        "workflows", write=True, body={"workflow_id": "{workflow}", "parameters": {"text": "hi"}}
    ),
    "POST /v1/workflow/stream_resume": Entry(
        "workflows",
        write=True,
        body={"workflow_id": "{workflow}", "event_id": "e", "resume_data": "r", "interrupt_type": 2},
    ),
    "POST /v1/workflows/chat": Entry(  # the seeded workflow is no chatflow
        "workflows", write=True, refused=400, body={"workflow_id": "{workflow}", "additional_messages": [QUESTION]}
    ),
    "GET /v1/workflows/{workflow_id}/run_histories/{execute_id}": Entry("workflows"),
    "GET /v1/workflows/{workflow_id}/run_histories/{execute_id}/execute_nodes/{node_execute_uuid}": Entry("workflows"),
    "GET /v1/workflows": Entry("workflows", query={"workspace_id": "{space}"}),
    "POST /v1/workflows": Entry("workflows", write=True, body={"document": WORKFLOW | {"name": "matrix_made"}}),
    "GET /v1/workflows/{workflow_id}": Entry("workflows"),
    "PUT /v1/workflows/{workflow_id}": Entry("workflows", write=True, body={"document": WORKFLOW}),
    "POST /v1/workflows/{workflow_id}/publish": Entry("workflows", write=True),
    "GET /v1/workflows/{workflow_id}/versions": Entry("workflows"),
    "GET /v1/users/me": Entry("workspaces"),
    "GET /v1/workspaces": Entry("workspaces"),
    "GET /openai/v1/models": Entry("chat"),
    "POST /openai/v1/chat/completions": Entry(
        "chat", write=True, body={"model": "scripted/echo", "messages": [{"role": "user", "content": "hi"}]}
    ),
    "POST /openai/v1/embeddings": Entry("chat", body={"model": "hashing", "input": "hi"}),
    "DELETE /openai/v1/{path:path}": Entry("chat"),
    "GET /openai/v1/{path:path}": Entry("chat"),
    "PATCH /openai/v1/{path:path}": Entry("chat"),
    "POST /openai/v1/{path:path}": Entry("chat"),
    "PUT /openai/v1/{path:path}": Entry("chat"),
    "DELETE /mcp": Entry("chat"),
    "GET /mcp": Entry("chat"),
    "POST /mcp": Entry("chat", body={}),
    "GET /api/studio/agents": Entry("studio"),
    "POST /api/studio/agents": Entry("studio", write=True, body={"name": "m", "model_id": "scripted/echo"}),
    "GET /api/studio/agents/{agent_id}": Entry("studio"),
    "PUT /api/studio/agents/{agent_id}": Entry("studio", write=True, body={"name": "renamed"}),
    "POST /api/studio/agents/{agent_id}/publish": Entry("studio", write=True),
    "GET /api/studio/agents/{agent_id}/versions": Entry("studio"),
    "GET /api/studio/agents/{agent_id}/versions/{version}": Entry("studio"),
    "GET /api/studio/plugins": Entry("studio"),
    "GET /api/studio/models": Entry("studio"),
    "POST /api/studio/agents/{agent_id}/chat": Entry("studio", write=True, body={"message": "hi"}),
    "POST /api/studio/chats/submit_tool_outputs": Entry(
        "studio", write=True, body=CHAT | {"tool_outputs": [{"tool_call_id": "t", "output": "o"}]}
    ),
    "POST /api/studio/chats/cancel": Entry("studio", write=True, body=CHAT),
    "GET /api/studio/agents/{agent_id}/conversations": Entry("studio"),
    "GET /api/studio/conversations/{conversation_id}/messages": Entry("studio"),
    "GET /api/studio/datasets": Entry("studio"),
    "POST /api/studio/datasets": Entry("studio", write=True, body={"name": "m"}),
    "GET /api/studio/datasets/{dataset_id}/documents": Entry("studio"),
    "POST /api/studio/documents/upload": Entry("studio", write=True, query={"dataset_id": "{dataset}"}),
    "POST /api/studio/datasets/{dataset_id}/hit_test": Entry("studio", body={"query": "hi"}),
    "GET /api/studio/datasets/{dataset_id}/documents/{document_id}/chunks": Entry("studio"),
    "GET /api/studio/session": Entry("studio"),
    "GET /api/studio/providers": Entry("studio"),
    "PUT /api/studio/providers/{name}": Entry(
        "studio", write=True, owners=True, body={"kind": "openai_compat", "base_url": "http://127.0.0.1:9/v1"}
    ),
    "DELETE /api/studio/providers/{name}": Entry("studio", write=True, owners=True),
    "GET /api/studio/keys": Entry("studio", owners=True),
    "POST /api/studio/keys": Entry("studio", write=True, owners=True, body={"name": "m"}),
    "POST /api/studio/keys/{key_id}/revoke": Entry("studio", write=True, owners=True),
    "GET /api/studio/members": Entry("studio", owners=True),
    "POST /api/studio/members": Entry("studio", write=True, owners=True, body={"user_name": "m", "role": "viewer"}),
    "PUT /api/studio/members/{user_id}": Entry("studio", write=True, owners=True, body={"role": "member"}),
    "DELETE /api/studio/members/{user_id}": Entry("studio", write=True, owners=True),
    "GET /api/studio/audit": Entry("studio", owners=True, query={"action": "api_key", "since": "0"}),
    "GET /api/studio/usage": Entry("studio"),
    "GET /api/studio/workflows": Entry("studio"),
    "POST /api/studio/workflows/check": Entry("studio", body={"text": WORKFLOW_TEXT}),
    "POST /api/studio/workflows": Entry("studio", write=True, body={"text": WORKFLOW_TEXT}),
    "POST /api/studio/workflows/import": Entry("studio", write=True, body={"text": WORKFLOW_TEXT}),
    "GET /api/studio/workflows/{workflow_id}": Entry("studio"),
    "PUT /api/studio/workflows/{workflow_id}": Entry("studio", write=True, body={"text": WORKFLOW_TEXT}),
    "POST /api/studio/workflows/{workflow_id}/publish": Entry("studio", write=True),
    "GET /api/studio/workflows/{workflow_id}/export": Entry("studio"),
    "POST /api/studio/workflows/{workflow_id}/runs": Entry("studio", write=True, body={"inputs": {"text": "hi"}}),
    "GET /api/studio/workflows/{workflow_id}/runs": Entry("studio"),
    "GET /api/studio/workflows/{workflow_id}/runs/{run_id}": Entry("studio"),
    "POST /api/studio/workflows/{workflow_id}/runs/{run_id}/answer": Entry(  # the seeded run asks nothing
        "studio", write=True, refused=400, body={"event_id": "e", "answer": "a"}
    ),
}
PATH_IDS = {  # path parameters and the seeded resource each names
    "bot_id": "bot",
    "agent_id": "bot",
    "conversation_id": "conversation",
    "message_id": "message",
    "dataset_id": "dataset",
    "document_id": "document",
    "workflow_id": "workflow",
    "execute_id": "execute",
    "run_id": "execute",
    "key_id": "key",
    "version": "version",
    "user_id": "member",
}
LITERALS = {"name": "openai", "path:path": "nothing", "node_execute_uuid": "0"}
ROLES = ["revoked", "wrong_scope", "other_workspace", "viewer", "member", "owner"]  # the writers last


def app_routes(data_dir: Path) -> set[str]:
    """ "METHOD path" of every route of a freshly made app, and "MOUNT path" of its mounts."""
    app = create_app(Settings.load(data_dir=data_dir))
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"MOUNT"}
        found |= {f"{method} {route.path}" for method in methods if method != "HEAD"}
    return found


def test_every_route_has_a_matrix_entry(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    assert sorted(routes - MATRIX.keys()) == [], "routes without a matrix entry: say who may call them"
    assert sorted(MATRIX.keys() - routes) == [], "matrix entries of routes that no longer exist"


@pytest.fixture(scope="module")
def owned(server: Running, token: str) -> dict[str, str]:
    """This workspace's resources, one of each, by kind (and the seeded bot's published version)."""
    owned = {kind: values[0] for kind, values in seed_resources(server.base_url, token).items()}
    versions = f"{server.base_url}/api/studio/agents/{owned['bot']}/versions"
    owned["version"] = httpx.get(versions, headers={"authorization": f"Bearer {token}"}).json()["items"][0]["version"]
    return owned


@pytest.fixture(scope="module")
def keys(server: Running, token: str) -> dict[str, str]:
    created = run_cli(server.env, "keys", "create", "--name", "to revoke").strip().splitlines()
    run_cli(server.env, "keys", "revoke", created[0].split()[1])  # "key <id> for workspace ..."
    return {
        "owner": token,
        "member": server.make_key("--user", "matrix-member", "--role", "member"),
        "viewer": server.make_key("--user", "matrix-viewer", "--role", "viewer"),
        "other_workspace": server.make_key("--workspace", "Matrix elsewhere"),
        "revoked": created[-1],
        "wrong_scope": "",  # by route, below
        "scoped bots": server.make_key("--scope", "bots"),
        "scoped chat": server.make_key("--scope", "chat"),
    }


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):  # a whole "{kind}" stands for the resource's id
        return ids.get(value[1:-1], value) if value.startswith("{") and value.endswith("}") else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _request(http: httpx.Client, route: str, entry: Entry, ids: dict[str, str], token: str) -> tuple[int, str, bool]:
    """Sends the route's request; the status, the body (an event stream's head only), and whether it named
    one of ``ids``."""
    method, _, template = route.partition(" ")
    path = template.replace("{path:path}", LITERALS["path:path"])
    for name, kind in PATH_IDS.items():
        path = path.replace("{" + name + "}", ids[kind])
    path = path.replace("{name}", LITERALS["name"]).replace("{node_execute_uuid}", LITERALS["node_execute_uuid"])
    if method == "MOUNT":
        method, path = "GET", f"{template}/app.js"
    query, body = _fill(entry.query, ids), _fill(entry.body, ids)
    named = any(i in json.dumps([path, query, body]) for i in ids.values())
    options: dict[str, Any] = {"params": query, "headers": {"authorization": f"Bearer {token}"}}
    if route in ("POST /v1/files/upload", "POST /api/studio/documents/upload"):
        options["files"] = {"file": ("m.txt", b"matrix", "text/plain")}
    elif body is not None:
        options["json"] = body
    with http.stream(method, path, **options) as response:
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        text = next(response.iter_text(), "") if streaming else response.read().decode()
        return response.status_code, text, named


def _problem(role: str, route: str, entry: Entry, status: int, text: str, named: bool, ids: dict[str, str]) -> str:
    """What is wrong with this answer for this caller, or ""."""
    if status >= 500:
        return f"{status}"
    if entry.scope is None:
        return "" if status < 400 else f"{status} for a public route"
    expected = {
        "revoked": 401,
        "wrong_scope": 403,
        "viewer": 403 if entry.owners else entry.refused if entry.write else None,
        "member": 403 if entry.owners else None,
    }.get(role)
    if expected is not None:
        return "" if status == expected else f"{status}, expected {expected}"
    if role == "other_workspace":
        if named and status < 400:
            return f"{status} for a request naming another workspace's resource"
        leaked = [kind for kind, value in ids.items() if value in text and status < 400]
        return f"their {leaked} in the answer" if leaked else ""
    return f"{status}: refused" if status in (401, 403) else ""


@pytest.mark.parametrize("role", ROLES)
def test_each_caller_reaches_what_it_may_and_nothing_else(
    role: str, server: Running, owned: dict[str, str], keys: dict[str, str]
) -> None:
    problems = []
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for route, entry in sorted(MATRIX.items(), key=lambda item: item[0].startswith("DELETE")):
            token = keys[role]
            if role == "wrong_scope":  # the studio takes no scoped key at all
                token = keys["scoped chat"] if entry.scope == "bots" else keys["scoped bots"]
            status, text, named = _request(http, route, entry, owned, token)
            if problem := _problem(role, route, entry, status, text, named, owned):
                problems.append(f"{route}: {problem} ({text[:160]})")
    assert not problems, "\n".join(problems)
