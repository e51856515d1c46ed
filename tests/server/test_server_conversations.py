"""The conversation and message endpoints as the unmodified cozepy SDK drives them, plus raw bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cozepy import Coze, CozeAPIError, Message, MessageContentType, MessageObjectString, MessageRole
from cozepy.conversations.message.feedback import FeedbackType
from server_harness import Running


@pytest.fixture(scope="module")
def bot_id(coze: Coze) -> str:
    space_id = coze.workspaces.list().items[0].id
    return coze.bots.create(space_id=space_id, name="Talker").bot_id


def _code(call: Any) -> int:
    with pytest.raises(CozeAPIError) as error:
        call()
    code: int = error.value.code or 0
    return code


def test_conversation_lifecycle(coze: Coze, bot_id: str) -> None:
    created = coze.conversations.create(
        bot_id=bot_id,
        meta_data={"k": "v"},
        messages=[Message.build_user_question_text("Hello there"), Message.build_assistant_answer("Hi!")],
    )
    assert created.id.isdigit() and created.last_section_id.isdigit()
    assert (created.name, created.meta_data) == ("Hello there", {"k": "v"})

    fetched = coze.conversations.retrieve(conversation_id=created.id)
    assert (fetched.id, fetched.last_section_id) == (created.id, created.last_section_id)
    history = list(coze.conversations.messages.list(conversation_id=created.id, order="asc"))
    assert [(m.role, m.type, m.content) for m in history] == [
        ("user", "question", "Hello there"),
        ("assistant", "answer", "Hi!"),
    ]
    assert {m.section_id for m in history} == {created.last_section_id}

    renamed = coze.conversations.update(conversation_id=created.id, name="Renamed")
    assert renamed.name == "Renamed"
    assert coze.conversations.retrieve(conversation_id=created.id).name == "Renamed"

    section = coze.conversations.clear(conversation_id=created.id)
    assert section.conversation_id == created.id and section.id != created.last_section_id
    assert coze.conversations.retrieve(conversation_id=created.id).last_section_id == section.id
    later = coze.conversations.messages.create(
        conversation_id=created.id, role=MessageRole.USER, content="again", content_type=MessageContentType.TEXT
    )
    assert later.section_id == section.id

    coze.conversations.delete(conversation_id=created.id)
    assert _code(lambda: coze.conversations.retrieve(conversation_id=created.id)) == 4200
    assert _code(lambda: coze.conversations.delete(conversation_id=created.id)) == 4200


def test_list_conversations(coze: Coze, bot_id: str) -> None:
    ids = {coze.conversations.create(bot_id=bot_id, name=f"c{i}").id for i in range(3)}
    listed = coze.conversations.list(bot_id=bot_id, page_size=2)
    assert len(listed.items) == 2 and listed.has_more
    assert ids <= {c.id for c in coze.conversations.list(bot_id=bot_id, page_size=2)}
    assert _code(lambda: coze.conversations.list(bot_id="1")) == 4200


def test_messages(coze: Coze) -> None:
    cid = coze.conversations.create().id
    texts = [f"m{i}" for i in range(5)]
    made = [
        coze.conversations.messages.create(
            conversation_id=cid, role=MessageRole.USER, content=text, content_type=MessageContentType.TEXT
        )
        for text in texts
    ]
    ids = [m.id for m in made]
    assert len(set(ids)) == 5 and all(m.conversation_id == cid for m in made)

    newest = coze.conversations.messages.list(conversation_id=cid, limit=2)
    assert [m.content for m in newest.items] == ["m4", "m3"] and newest.has_more
    assert (newest.first_id, newest.last_id) == (ids[4], ids[3])
    older = coze.conversations.messages.list(conversation_id=cid, after_id=ids[3], limit=2)
    assert [m.content for m in older.items] == ["m2", "m1"] and older.has_more
    oldest = coze.conversations.messages.list(conversation_id=cid, after_id=ids[1], limit=2)
    assert [m.content for m in oldest.items] == ["m0"] and not oldest.has_more
    newer_desc = coze.conversations.messages.list(conversation_id=cid, before_id=ids[1], limit=2)
    assert [m.content for m in newer_desc.items] == ["m3", "m2"] and newer_desc.has_more
    newer = coze.conversations.messages.list(conversation_id=cid, order="asc", after_id=ids[1], limit=2)
    assert [m.content for m in newer.items] == ["m2", "m3"] and newer.has_more
    assert [m.content for m in coze.conversations.messages.list(conversation_id=cid, order="asc", limit=2)] == texts

    parts = [MessageObjectString.build_text("look"), MessageObjectString.build_image(file_url="https://x/y.png")]
    multi = coze.conversations.messages.create(
        conversation_id=cid,
        role=MessageRole.USER,
        content=json.dumps([p.model_dump(exclude_none=True) for p in parts]),
        content_type=MessageContentType.OBJECT_STRING,
        meta_data={"src": "test"},
    )
    got = coze.conversations.messages.retrieve(conversation_id=cid, message_id=multi.id)
    assert (got.content_type, got.meta_data) == ("object_string", {"src": "test"})

    changed = coze.conversations.messages.update(
        conversation_id=cid, message_id=ids[0], content="edited", meta_data={"e": "1"}
    )
    assert (changed.id, changed.content, changed.meta_data) == (ids[0], "edited", {"e": "1"})
    assert coze.conversations.messages.retrieve(conversation_id=cid, message_id=ids[0]).content == "edited"

    deleted = coze.conversations.messages.delete(conversation_id=cid, message_id=ids[1])
    assert (deleted.id, deleted.content) == (ids[1], "m1")
    assert _code(lambda: coze.conversations.messages.retrieve(conversation_id=cid, message_id=ids[1])) == 4200
    other = coze.conversations.create().id
    assert _code(lambda: coze.conversations.messages.retrieve(conversation_id=other, message_id=ids[0])) == 4200


def test_message_list_iterates_every_page_once(coze: Coze) -> None:
    """cozepy's paginator asks for each next page with after_id=last_id, in either order."""
    cid = coze.conversations.create().id
    texts = [f"p{i}" for i in range(5)]
    for text in texts:
        coze.conversations.messages.create(
            conversation_id=cid, role=MessageRole.USER, content=text, content_type=MessageContentType.TEXT
        )
    desc = coze.conversations.messages.list(conversation_id=cid, order="desc", limit=2)
    assert [m.content for m in desc] == texts[::-1]
    asc = coze.conversations.messages.list(conversation_id=cid, order="asc", limit=2)
    assert [m.content for m in asc] == texts
    assert len(list(desc.iter_pages())) == 3


def test_feedback(coze: Coze) -> None:
    cid = coze.conversations.create(messages=[Message.build_assistant_answer("answer")]).id
    mid = coze.conversations.messages.list(conversation_id=cid).items[0].id
    feedback = coze.conversations.messages.feedback
    feedback.create(
        conversation_id=cid, message_id=mid, feedback_type=FeedbackType.UNLIKE, reason_types=["wrong"], comment="no"
    )
    feedback.create(conversation_id=cid, message_id=mid, feedback_type=FeedbackType.LIKE)
    feedback.delete(conversation_id=cid, message_id=mid)
    assert _code(lambda: feedback.delete(conversation_id=cid, message_id="1")) == 4200


def test_workspace_isolation(server: Running, coze: Coze, bot_id: str) -> None:
    cid = coze.conversations.create(bot_id=bot_id, messages=[Message.build_user_question_text("secret")]).id
    mid = coze.conversations.messages.list(conversation_id=cid).items[0].id
    other = server.coze(server.make_key("--workspace", "Team C"))
    for call in (
        lambda: other.conversations.retrieve(conversation_id=cid),
        lambda: other.conversations.update(conversation_id=cid, name="taken"),
        lambda: other.conversations.delete(conversation_id=cid),
        lambda: other.conversations.clear(conversation_id=cid),
        lambda: other.conversations.list(bot_id=bot_id),
        lambda: other.conversations.create(bot_id=bot_id),
        lambda: other.conversations.messages.list(conversation_id=cid),
        lambda: other.conversations.messages.retrieve(conversation_id=cid, message_id=mid),
        lambda: other.conversations.messages.delete(conversation_id=cid, message_id=mid),
        lambda: other.conversations.messages.feedback.create(
            conversation_id=cid, message_id=mid, feedback_type=FeedbackType.LIKE
        ),
    ):
        assert _code(call) == 4200
    assert coze.conversations.messages.retrieve(conversation_id=cid, message_id=mid).content == "secret"


def test_viewer_cannot_write(server: Running, coze: Coze) -> None:
    cid = coze.conversations.create(messages=[Message.build_user_question_text("shared")]).id
    mid = coze.conversations.messages.list(conversation_id=cid).items[0].id
    viewer = server.coze(server.make_key("--user", "vic", "--role", "viewer"))
    assert viewer.conversations.messages.retrieve(conversation_id=cid, message_id=mid).content == "shared"
    for call in (
        lambda: viewer.conversations.create(),
        lambda: viewer.conversations.update(conversation_id=cid, name="no"),
        lambda: viewer.conversations.delete(conversation_id=cid),
        lambda: viewer.conversations.clear(conversation_id=cid),
        lambda: viewer.conversations.messages.create(
            conversation_id=cid, role=MessageRole.USER, content="no", content_type=MessageContentType.TEXT
        ),
        lambda: viewer.conversations.messages.update(conversation_id=cid, message_id=mid, content="no"),
        lambda: viewer.conversations.messages.delete(conversation_id=cid, message_id=mid),
        lambda: viewer.conversations.messages.feedback.create(
            conversation_id=cid, message_id=mid, feedback_type=FeedbackType.LIKE
        ),
    ):
        assert _code(call) == 4101


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("create", {"role": "user", "content": "x", "content_type": "audio"}, "content_type"),
        ("create", {"role": "system", "content": "x", "content_type": "text"}, "role"),
        ("create", {"role": "user", "content": "[oops", "content_type": "object_string"}, "content"),
        ("create", {"role": "user", "content": '{"type": "text"}', "content_type": "object_string"}, "content"),
        ("create", {"role": "user", "content": '[{"type": "video"}]', "content_type": "object_string"}, "content[0]"),
        ("create", {"role": "user", "content": '[{"type": "image"}]', "content_type": "object_string"}, "content[0]"),
        ("list", {"limit": 0}, "limit"),
        ("list", {"limit": 51}, "limit"),
        ("list", {"order": "sideways"}, "order"),
    ],
)
def test_bad_message_input(
    server: Running, coze: Coze, token: str, path: str, body: dict[str, Any], field: str
) -> None:
    cid = coze.conversations.create().id
    response = httpx.post(
        f"{server.base_url}/v1/conversation/message/{path}",
        params={"conversation_id": cid},
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    answer = response.json()
    assert answer["code"] == 4000 and answer["msg"].startswith(f"{field}:"), answer


def test_bad_ids_and_fields_raw(server: Running, coze: Coze, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    cid = coze.conversations.create(messages=[Message.build_user_question_text("q")]).id

    def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.request(method, server.base_url + path, headers=headers, **kwargs).json()
        return answer

    assert call("GET", "/v1/conversation/retrieve", params={"conversation_id": "999"})["code"] == 4200
    assert call("POST", "/v1/conversation/message/list", params={"conversation_id": "999"}, json={})["code"] == 4200
    missing = call("GET", "/v1/conversation/message/retrieve", params={"conversation_id": cid, "message_id": "9"})
    assert missing["code"] == 4200
    no_id = call("GET", "/v1/conversation/retrieve")
    assert no_id["code"] == 4000 and "conversation_id" in no_id["msg"]
    long_name = call("PUT", f"/v1/conversations/{cid}", json={"name": "x" * 101})
    assert long_name["code"] == 4000 and long_name["msg"].startswith("name:")
    bad_feedback = call("POST", f"/v1/conversations/{cid}/messages/1/feedback", json={"feedback_type": "meh"})
    assert bad_feedback["code"] == 4000 and bad_feedback["msg"].startswith("feedback_type:")
    bad_initial = call(
        "POST",
        "/v1/conversation/create",
        json={"messages": [{"role": "user", "content": "[", "content_type": "object_string"}]},
    )
    assert bad_initial["code"] == 4000 and bad_initial["msg"].startswith("messages[0].content:")
    listed = call("POST", "/v1/conversation/message/list", params={"conversation_id": cid}, json={"limit": None})
    assert listed["code"] == 0 and listed["has_more"] is False and listed["first_id"] == listed["last_id"]
    assert isinstance(listed["data"][0]["id"], str)
