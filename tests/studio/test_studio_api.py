"""The studio's page and ``/api/studio/*`` against a real server: who may call it (a key, or the loopback owner
and nobody else without one), agents, the playground's streamed turns and stop, knowledge, settings, bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from studio_data import ready

STUDIO = {"x-plait-studio": "1"}
LOADED = re.compile(r'(?:href|src)="(/studio/static/[^"]+)"|from "\./([\w-]+\.js)"')


def _events(client: httpx.Client, agent_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with client.stream("POST", f"/agents/{agent_id}/chat", json=body) as response:
        assert response.status_code == 200, response.read()
        return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def _agent(api: httpx.Client, name: str, **draft: Any) -> dict[str, Any]:
    agent: dict[str, Any] = api.post("/agents", json={"name": name, "model_id": "scripted/echo"}).json()
    if draft:
        response = api.put(f"/agents/{agent['id']}", json={**agent["draft"], **draft})
        assert response.status_code == 200, response.text
        agent = response.json()
    return agent


def _first_load(base_url: str) -> dict[str, int]:
    """Every file the page loads before it shows anything (the shell, what it links, each module the modules
    import, the English strings) and its size, found by reading them as the browser does."""
    sizes: dict[str, int] = {}
    waiting = ["/"]
    while waiting:
        path = waiting.pop()
        if path in sizes:
            continue
        response = httpx.get(base_url + path)
        assert response.status_code == 200, path
        sizes[path] = len(response.content)
        for linked, module in LOADED.findall(response.text):
            waiting.append(linked or f"/studio/static/{module}")
        if "i18n/${code}.json" in response.text:
            waiting.append("/studio/static/i18n/en.json")
    return sizes


def test_the_page_loads_under_300_kb_with_a_strict_csp(base_url: str) -> None:
    page = httpx.get(base_url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'type="module"' in page.text and "<script>" not in page.text  # no inline script for the CSP to allow
    sizes = _first_load(base_url)
    assert {"/studio/static/app.js", "/studio/static/workflows.js", "/studio/static/graph.js"} <= set(sizes)
    assert "/studio/static/i18n/en.json" in sizes and "/studio/static/studio.css" in sizes
    assert sum(sizes.values()) < 300 * 1024, sizes
    assert httpx.get(base_url + "/studio/static/app.js").headers["cache-control"] == "no-cache"


def test_the_loopback_owner_needs_no_key_but_only_from_a_loopback_page(base_url: str, api: httpx.Client) -> None:
    session = api.get("/session").json()
    assert session["mode"] == "local" and session["role"] == "owner" and session["workspaces"]
    assert httpx.get(base_url + "/api/studio/session").status_code == 401  # no studio header: no keyless owner
    for hostile in ({"host": "evil.example"}, {"origin": "https://evil.example"}):  # DNS rebinding, another site
        response = httpx.get(base_url + "/api/studio/session", headers=STUDIO | hostile)
        assert response.status_code == 401 and response.json()["code"] == 4100
    assert api.get("/session", headers={"x-plait-workspace": "123"}).status_code == 404


def test_a_key_opens_its_own_workspace(base_url: str, admin_key: str) -> None:
    bearer = {"authorization": f"Bearer {admin_key}"}
    session = httpx.get(base_url + "/api/studio/session", headers=bearer).json()
    assert session["mode"] == "key" and [w["id"] for w in session["workspaces"]] == [session["workspace_id"]]
    other = httpx.get(base_url + "/api/studio/session", headers=bearer | {"x-plait-workspace": "123"})
    assert other.status_code == 404
    bad = httpx.get(base_url + "/api/studio/agents", headers={"authorization": "Bearer pat_nope"})
    assert bad.status_code == 401 and bad.json()["code"] == 4100


def test_an_agent_is_created_edited_published_and_versioned(api: httpx.Client) -> None:
    agent = _agent(
        api,
        "Helper",
        persona="You help {{user}}.",
        model={"model_id": "scripted/echo", "temperature": 0.3, "max_tokens": 100, "top_p": None, "context_round": 4},
        variables=[{"keyword": "user", "default_value": "Ana", "description": "", "enabled": True}],
        prologue="Hi!",
        suggested_questions=["What can you do?", " "],
    )
    draft = agent["draft"]
    assert draft["model"]["temperature"] == 0.3 and draft["variables"][0]["keyword"] == "user"
    assert draft["suggested_questions"] == ["What can you do?"] and agent["published_version"] is None
    assert api.get(f"/agents/{agent['id']}/versions").json()["total"] == 0
    version = api.post(f"/agents/{agent['id']}/publish").json()["version"]
    (listed,) = api.get(f"/agents/{agent['id']}/versions").json()["items"]
    assert listed["version"] == version and listed["online"] and listed["persona"] == "You help {{user}}."
    assert any(item["id"] == agent["id"] and item["published"] for item in api.get("/agents").json()["items"])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"colour": "red"}, "colour"),
        ({"variables": [{"keyword": "no spaces"}]}, "variables.0.keyword"),
        ({"model": {"model_id": "nowhere/x"}}, "unknown provider 'nowhere'"),
        ({"model": {"model_id": "scripted/echo", "temperature": 9}}, "model.temperature"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_draft_is_a_4000_naming_the_field(api: httpx.Client, change: dict[str, Any], problem: str) -> None:
    agent = _agent(api, "Strict")
    response = api.put(f"/agents/{agent['id']}", json={**agent["draft"], **change})
    assert response.status_code == 400 and response.json()["code"] == 4000
    assert problem in response.json()["msg"]


def test_unknown_agents_are_404(api: httpx.Client) -> None:
    for method, path in [("GET", "/agents/1"), ("POST", "/agents/1/publish"), ("GET", "/agents/1/versions")]:
        assert api.request(method, path).status_code == 404, path
    assert api.post("/agents/1/chat", json={"message": "hi"}).status_code == 404


def test_the_playground_streams_the_draft_or_the_published_version(api: httpx.Client) -> None:
    agent = _agent(api, "Versions", persona="persona one", model={"model_id": "scripted/prompt"})
    api.post(f"/agents/{agent['id']}/publish")
    api.put(f"/agents/{agent['id']}", json={**agent["draft"], "persona": "persona two"})
    answers = {}
    for version in ("draft", "published"):
        events = _events(api, agent["id"], {"message": "hello", "version": version})
        assert [e["event"] for e in events][-1] == "done" and any(e["event"] == "delta" for e in events)
        (answer,) = [e["message"] for e in events if e["event"] == "message" and e["message"]["type"] == "answer"]
        answers[version] = answer["content"]
        assert events[-2]["status"] == "completed"
    assert "persona two" in answers["draft"] and "persona one" in answers["published"]


def test_a_conversation_goes_on_with_its_id(api: httpx.Client) -> None:
    agent = _agent(api, "Memory", model={"model_id": "scripted/prompt"})
    first = _events(api, agent["id"], {"message": "remember apples"})
    conversation = first[0]["conversation_id"]
    second = _events(api, agent["id"], {"message": "and pears", "conversation_id": conversation})
    assert second[0]["conversation_id"] == conversation
    assert "remember apples" in next(e["message"]["content"] for e in second if e["event"] == "message")


def test_the_history_lists_the_callers_conversations_newest_first_and_opens_one(
    api: httpx.Client, base_url: str, make_key: Callable[..., str]
) -> None:
    agent = _agent(api, "Historian")
    first = _events(api, agent["id"], {"message": "first about apples"})[0]["conversation_id"]
    second = _events(api, agent["id"], {"message": " second\nabout  pears "})[0]["conversation_id"]
    _events(api, agent["id"], {"message": "and more", "conversation_id": first})
    api.post(f"/agents/{agent['id']}/publish")
    token = make_key("--user", "history-member", "--role", "member")
    with httpx.Client(base_url=api.base_url, headers={"authorization": f"Bearer {token}"}) as member:
        _events(member, agent["id"], {"message": "not yours", "version": "published"})
        theirs = member.get(f"/agents/{agent['id']}/conversations").json()["items"]
    assert [c["first_question"] for c in theirs] == ["not yours"]
    listed = api.get(f"/agents/{agent['id']}/conversations").json()
    assert [(c["id"], c["first_question"]) for c in listed["items"]] == [
        (second, "second about pears"),
        (first, "first about apples"),
    ]
    assert listed["has_more"] is False and all(c["created_at"] > 0 for c in listed["items"])
    page = api.get(f"/agents/{agent['id']}/conversations", params={"page_size": 1}).json()
    assert [c["id"] for c in page["items"]] == [second] and page["has_more"] is True
    opened = api.get(f"/conversations/{first}/messages").json()
    said = [m["content"] for m in opened["items"] if m["type"] in ("question", "answer")]
    assert said == ["first about apples", "first about apples", "and more", "and more"]  # a question, its echo
    assert opened["has_more"] is False


def test_the_history_refuses_bad_input(api: httpx.Client) -> None:
    agent = _agent(api, "History checks")
    assert api.get("/agents/1/conversations").json()["code"] == 4200
    assert api.get("/conversations/1/messages").status_code == 404
    for params in ({"page_size": 0}, {"page_size": 101}, {"page_num": 0}, {"page_num": "x"}):
        answer = api.get(f"/agents/{agent['id']}/conversations", params=params)
        assert answer.status_code == 400 and answer.json()["code"] == 4000, params


def test_stop_cancels_a_running_answer(api: httpx.Client, slow_model: str) -> None:
    agent = _agent(api, "Slow", model={"model_id": slow_model})
    words = " ".join(f"word{i}" for i in range(200))
    with api.stream("POST", f"/agents/{agent['id']}/chat", json={"message": words}) as response:
        seen: list[dict[str, Any]] = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if seen[-1]["event"] == "delta" and len(seen) == 3:
                    ids = {"conversation_id": seen[0]["conversation_id"], "chat_id": seen[0]["chat_id"]}
                    assert api.post("/chats/cancel", json=ids).json()["status"] == "canceled"
    assert seen[-1]["event"] == "done"
    assert sum(e["event"] == "delta" for e in seen) < 100  # it stopped long before the end
    assert api.post("/chats/cancel", json=ids).json()["code"] == 4104  # already ended


def test_a_file_is_uploaded_ingested_and_hit_tested(api: httpx.Client) -> None:
    dataset = api.post("/datasets", json={"name": "Handbook"}).json()
    text = "Holidays: every employee has 25 days of paid leave a year.\n\nParking is free on level two."
    files = {"file": ("handbook.txt", text.encode(), "text/plain")}
    uploaded = api.post("/documents/upload", params={"dataset_id": dataset["id"]}, files=files)
    assert uploaded.status_code == 201 and uploaded.json()["status"] == "processing"
    document = ready(api, dataset["id"])
    assert document["status"] == "ready" and document["chunks"] >= 1 and document["error"] == ""
    hits = api.post(f"/datasets/{dataset['id']}/hit_test", json={"query": "paid leave days"}).json()["items"]
    assert hits and "25 days" in hits[0]["content"] and hits[0]["document_name"] == "handbook.txt"
    listed = next(d for d in api.get("/datasets").json()["items"] if d["id"] == dataset["id"])
    assert listed["documents"] == 1 and listed["chunks"] == document["chunks"]


def test_knowledge_refuses_bad_input(api: httpx.Client) -> None:
    dataset = api.post("/datasets", json={"name": "Empty"}).json()
    assert api.post("/datasets", json={"name": ""}).status_code == 400
    assert api.post("/datasets/1/hit_test", json={"query": "x"}).status_code == 404
    assert api.post(f"/datasets/{dataset['id']}/hit_test", json={"query": " "}).status_code == 400
    assert api.post(f"/datasets/{dataset['id']}/hit_test", json={"query": "x", "top_k": 99}).status_code == 400
    empty = api.post("/documents/upload", params={"dataset_id": dataset["id"]}, files={"file": ("a.txt", b"")})
    assert empty.status_code == 400 and "empty" in empty.json()["msg"]
    odd = api.post("/documents/upload", params={"dataset_id": dataset["id"]}, files={"file": ("a.exe", b"MZ")})
    assert odd.status_code == 400


def test_keys_and_providers_are_managed_from_settings(base_url: str, api: httpx.Client) -> None:
    key = api.post("/keys", json={"name": "from the studio"}).json()
    session = httpx.get(base_url + "/api/studio/session", headers={"authorization": f"Bearer {key['token']}"})
    assert session.json()["mode"] == "key"
    assert any(k["id"] == key["id"] for k in api.get("/keys").json()["items"])
    assert api.post(f"/keys/{key['id']}/revoke").json()["revoked"]
    gone = httpx.get(base_url + "/api/studio/session", headers={"authorization": f"Bearer {key['token']}"})
    assert gone.status_code == 401
    change = {"kind": "openai_compat", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-test", "models": ["m1"]}
    assert api.put("/providers/mine", json=change).status_code == 200
    (mine,) = [p for p in api.get("/providers").json()["items"] if p["name"] == "mine"]
    assert mine["has_key"] and mine["models"] == ["m1"] and "sk-test" not in json.dumps(mine)
    assert "mine/m1" in api.get("/models").json()["items"]
    assert api.put("/providers/bad name", json={"kind": "openai_compat"}).status_code == 400
    assert api.delete("/providers/mine").status_code == 200
    assert api.delete("/providers/mine").status_code == 404


def test_a_scoped_key_cannot_open_the_studio(base_url: str, make_key: Callable[..., str]) -> None:
    token = make_key("--scope", "chat")
    response = httpx.get(base_url + "/api/studio/agents", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 403 and "without scopes" in response.json()["msg"]
