"""``/api/studio/members`` on a real server, SQLite and PostgreSQL: an owner adds a member, makes them a key,
changes their role and removes them, and the member's key follows at once (the new role, then 401); each change
is one audit row; bad input answers 4xx with a stable code and adds no row; the last owner stays; members and
viewers get 403; OpenAPI documents the routes and their error answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from server_harness import Running


def _call(server: Running, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    url = f"{server.base_url}/api/studio{path}"
    return httpx.request(method, url, json=body, headers=headers, timeout=30)


def _member_actions(server: Running, token: str) -> list[str]:
    page = _call(server, token, "GET", "/audit?action=member&page_size=100").json()
    return [event["action"] for event in reversed(page["items"])]


def test_a_member_is_added_given_a_key_re_roled_and_removed(server: Running, token: str) -> None:
    before = _member_actions(server, token)
    added = _call(server, token, "POST", "/members", {"user_name": " erin ", "role": "member"})
    assert added.status_code == 201, added.text
    erin = added.json()
    assert (erin["name"], erin["role"]) == ("erin", "member") and erin["joined_at"] > 0
    listed = _call(server, token, "GET", "/members").json()
    assert [m["name"] for m in listed["items"]][-1] == "erin" and "viewer" in listed["roles"]

    key = _call(server, token, "POST", "/keys", {"name": "erin's", "user_id": erin["user_id"]})
    assert key.status_code == 201 and key.json()["user_id"] == erin["user_id"], key.text
    erin_token = key.json()["token"]
    assert _call(server, erin_token, "GET", "/session").json()["role"] == "member"

    changed = _call(server, token, "PUT", f"/members/{erin['user_id']}", {"role": "viewer"})
    assert changed.status_code == 200 and changed.json()["role"] == "viewer", changed.text
    assert _call(server, erin_token, "GET", "/session").json()["role"] == "viewer"
    assert _call(server, erin_token, "POST", "/datasets", {"name": "no"}).status_code == 403

    removed = _call(server, token, "DELETE", f"/members/{erin['user_id']}")
    assert removed.status_code == 200 and removed.json()["name"] == "erin", removed.text
    gone = _call(server, erin_token, "GET", "/session")
    assert gone.status_code == 401 and gone.json()["code"] == 4100
    assert erin["user_id"] not in [m["user_id"] for m in _call(server, token, "GET", "/members").json()["items"]]
    assert _member_actions(server, token) == [*before, "member.add", "member.role", "member.remove"]
    event = _call(server, token, "GET", "/audit?action=member.remove").json()["items"][0]  # the newest
    assert event["target_id"] == erin["user_id"] and event["detail"]["keys_revoked"] == 1


def test_bad_input_answers_4xx_with_a_stable_code_and_adds_no_row(server: Running, token: str) -> None:
    before = _member_actions(server, token)
    me = _call(server, token, "GET", "/session").json()["user"]["id"]
    refused = [
        (_call(server, token, "POST", "/members", {"user_name": "frank", "role": "boss"}), 400, 4000),
        (_call(server, token, "POST", "/members", {"user_name": "", "role": "member"}), 400, 4000),
        (_call(server, token, "POST", "/members", {"user_name": "   ", "role": "member"}), 400, 4000),
        (_call(server, token, "POST", "/members", {"user_name": "a\x00b"}), 400, 4000),
        (_call(server, token, "POST", "/members", {"user_name": "x" * 10_000}), 400, 4000),
        (_call(server, token, "POST", "/members", {"user_name": "admin"}), 400, 4000),  # a member already
        (_call(server, token, "POST", "/members", {"user_name": "g", "extra": 1}), 400, 4000),
        (_call(server, token, "PUT", "/members/404", {"role": "viewer"}), 404, 4200),
        (_call(server, token, "PUT", f"/members/{me}", {"role": "root"}), 400, 4000),
        (_call(server, token, "PUT", "/members/1%002", {"role": "viewer"}), 404, 4200),
        (_call(server, token, "DELETE", "/members/" + "9" * 5000), 404, 4200),
        (_call(server, token, "DELETE", f"/members/{me}"), 400, 4000),  # the last owner
        (_call(server, token, "PUT", f"/members/{me}", {"role": "admin"}), 400, 4000),
        (_call(server, token, "POST", "/keys", {"name": "k", "user_id": "404"}), 404, 4200),
        (_call(server, token, "POST", "/keys", {"name": "k", "user_id": "1\x00"}), 404, 4200),
    ]
    problems = [
        (r.status_code, r.text[:120])
        for r, status, code in refused
        if (r.status_code, r.json()["code"]) != (status, code)
    ]
    assert not problems
    assert "last owner" in refused[-4][0].json()["msg"]
    assert _member_actions(server, token) == before


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_manage_nobody(server: Running, token: str, role: str) -> None:
    theirs = server.make_key("--user", f"members-{role}", "--role", role)
    me = _call(server, token, "GET", "/session").json()["user"]["id"]
    for method, path, body in (
        ("GET", "/members", None),
        ("POST", "/members", {"user_name": "mallory", "role": "owner"}),
        ("PUT", f"/members/{me}", {"role": "viewer"}),
        ("DELETE", f"/members/{me}", None),
    ):
        answer = _call(server, theirs, method, path, body)
        assert answer.status_code == 403 and answer.json()["code"] == 4101, (method, path, answer.text)


def test_an_admin_cannot_touch_an_owner(server: Running, token: str) -> None:
    admin = server.make_key("--user", "members-admin", "--role", "admin")
    me = _call(server, token, "GET", "/session").json()["user"]["id"]
    for method, path, body in (
        ("POST", "/members", {"user_name": "oscar", "role": "owner"}),
        ("PUT", f"/members/{me}", {"role": "viewer"}),
        ("DELETE", f"/members/{me}", None),
        ("POST", "/keys", {"name": "as the owner", "user_id": me}),
    ):
        answer = _call(server, admin, method, path, body)
        assert answer.status_code == 403 and answer.json()["code"] == 4101, (method, path, answer.text)
    assert _call(server, admin, "POST", "/members", {"user_name": "pat", "role": "viewer"}).status_code == 201


def test_the_routes_are_documented_with_their_error_answers(server: Running) -> None:
    paths = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    operations = [
        paths["/api/studio/members"]["get"],
        paths["/api/studio/members"]["post"],
        paths["/api/studio/members/{user_id}"]["put"],
        paths["/api/studio/members/{user_id}"]["delete"],
    ]
    for operation in operations:
        assert {"400", "401", "403", "404"} <= operation["responses"].keys() and "422" not in operation["responses"]
