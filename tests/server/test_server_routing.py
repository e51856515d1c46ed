"""Routing between bots through the Coze API: a router hands each turn to the bot whose description matches,
or to its fallback; the decision shows in the chat; the chosen bot answers with the conversation's history;
configs that could not route are refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cozepy import ChatEventType, ChatStatus, Coze, Message, MessageType
from server_harness import Running

DESKS = {
    "billing": "Billing questions: invoices, payments, refunds and receipts.",
    "tech": "Technical support: installation, crashes, error messages and passwords.",
    "front": "Anything else, small talk included.",
}


def _post(server: Running, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{server.base_url}{path}", json=body, headers={"authorization": f"Bearer {token}"})
    result: dict[str, Any] = answer.json()
    return result


@pytest.fixture(scope="module")
def desks(coze: Coze, space_id: str) -> dict[str, str]:
    ids = {}
    for name, description in DESKS.items():
        ids[name] = coze.bots.create(
            space_id=space_id,
            name=f"{name} desk",
            description=description,
            prompt_info={"prompt": f"You are the {name} desk."},
            model_info_config={"model_id": "scripted/prompt"},
        ).bot_id
        coze.bots.publish(bot_id=ids[name])
    return ids


@pytest.fixture(scope="module")
def router(server: Running, token: str, coze: Coze, space_id: str, desks: dict[str, str]) -> str:
    routing = {"bot_ids": [desks["billing"], desks["tech"]], "fallback_bot_id": desks["front"], "threshold": 0.2}
    created = _post(server, token, "/v1/bot/create", {"space_id": space_id, "name": "Router", "routing": routing})
    assert created["code"] == 0, created
    coze.bots.publish(bot_id=created["data"]["bot_id"])
    return str(created["data"]["bot_id"])


def _ask(coze: Coze, bot_id: str, text: str, conversation_id: str | None = None) -> tuple[Any, str, Any]:
    chat = coze.chat.create(
        user_id="u",
        bot_id=bot_id,
        conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text(text)],
    )
    assert chat.status == ChatStatus.COMPLETED, chat.last_error
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    answer = next(m for m in messages if m.type == MessageType.ANSWER)
    verbose = [json.loads(m.content) for m in messages if m.type == MessageType.VERBOSE]
    (trace,) = [json.loads(v["data"]) for v in verbose if v["msg_type"] == "plait_routing"]
    assert json.loads((chat.meta_data or {})["plait_routing"]) == trace
    return chat, answer.content, trace


def test_a_question_goes_to_the_bot_that_matches(coze: Coze, router: str, desks: dict[str, str]) -> None:
    chat, answer, trace = _ask(coze, router, "My invoice shows a refund I never got.")
    assert chat.bot_id == desks["billing"]  # the chat records the bot that answered
    assert answer.startswith("system: You are the billing desk.")
    assert (trace["bot_id"], trace["fallback"], trace["router_bot_id"]) == (desks["billing"], False, router)
    assert [score["bot_id"] for score in trace["scores"]] == [desks["billing"], desks["tech"]]
    billing, tech = trace["scores"]
    assert billing["match"] > trace["threshold"] > tech["match"]
    assert set(billing) >= {"relevance", "total", "match", "success", "latency", "queue"}
    assert trace["weights"]["model"] == 0.0 and trace["weights"]["match"] > 0


def test_the_chosen_bot_answers_with_the_conversation_history(coze: Coze, router: str, desks: dict[str, str]) -> None:
    first, _, _ = _ask(coze, router, "Where is the receipt for my payment?")
    second, answer, trace = _ask(coze, router, "The installation crashes with an error message.", first.conversation_id)
    assert (first.bot_id, second.bot_id, trace["bot_id"]) == (desks["billing"], desks["tech"], desks["tech"])
    assert second.conversation_id == first.conversation_id
    assert answer.startswith("system: You are the tech desk.")
    assert "user: Where is the receipt for my payment?" in answer  # the earlier turn, answered by another bot


def test_nothing_relevant_goes_to_the_fallback(coze: Coze, router: str, desks: dict[str, str]) -> None:
    chat, answer, trace = _ask(coze, router, "Tell me a joke about penguins.")
    assert (chat.bot_id, trace["bot_id"], trace["fallback"]) == (desks["front"], desks["front"], True)
    assert answer.startswith("system: You are the front desk.")


def test_a_streamed_chat_shows_the_decision_before_the_answer(coze: Coze, router: str, desks: dict[str, str]) -> None:
    stream = coze.chat.stream(
        user_id="u", bot_id=router, additional_messages=[Message.build_user_question_text("I forgot my password.")]
    )
    completed = [e.message for e in stream if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED and e.message]
    assert [m.type for m in completed][:2] == [MessageType.VERBOSE, MessageType.ANSWER]
    assert json.loads(json.loads(completed[0].content)["data"])["bot_id"] == desks["tech"]
    assert completed[1].bot_id == desks["tech"]


def test_configs_that_cannot_route_are_refused(
    server: Running, token: str, coze: Coze, space_id: str, router: str, desks: dict[str, str]
) -> None:
    unpublished = coze.bots.create(space_id=space_id, name="draft desk", description="drafts").bot_id
    cases = [
        ({"bot_ids": []}, "at least one"),
        ({"bot_ids": ["7000000000000000001"]}, "routing.bot_ids[0]: bot 7000000000000000001 not found"),
        ({"bot_ids": [desks["tech"], router]}, "routing.bot_ids[1]: a router cannot route to itself"),
        ({"bot_ids": [unpublished]}, "is not published"),
        ({"bot_ids": [desks["tech"]], "fallback_bot_id": unpublished}, "routing.fallback_bot_id"),
        ({"bot_ids": [desks["tech"]], "threshold": 2}, "threshold"),
        ({"bot_ids": [desks["tech"]], "weights": {"speed": 1}}, "speed"),
    ]
    for routing, problem in cases:
        answer = _post(server, token, "/v1/bot/update", {"bot_id": router, "routing": routing})
        assert answer["code"] == 4000 and problem in answer["msg"], (routing, answer)
    other = _post(
        server, token, "/v1/bot/create", {"space_id": space_id, "name": "Router 2", "routing": {"bot_ids": [router]}}
    )
    assert other["code"] == 4000 and "is a router itself" in other["msg"]
    # nothing refused was stored
    raw = httpx.get(f"{server.base_url}/v1/bots/{router}", headers={"authorization": f"Bearer {token}"}).json()
    assert raw["data"]["routing"]["bot_ids"] == [desks["billing"], desks["tech"]]
