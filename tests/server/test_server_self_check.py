"""Answer self-check through the Coze API: a knowledge bot's answer the chunks do not support is marked (or
retried once, told to keep to the sources); one they support passes; the check shows in the messages."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cozepy import ChatStatus, Coze, Message, MessageType
from server_harness import Running, ingested_dataset

MANUAL = "The Zephyr 3000 kettle must be descaled with citric acid every month."


@pytest.fixture(scope="module")
def dataset_id(coze: Coze, space_id: str) -> str:
    return ingested_dataset(coze, space_id, "kettles", MANUAL)


def _bot(server: Running, token: str, coze: Coze, space_id: str, dataset_id: str, **fields: Any) -> str:
    body = {
        "space_id": space_id,
        "name": "Kettle help",
        "model_info_config": {"model_id": "scripted/echo"},
        "knowledge": {"dataset_ids": [dataset_id], "auto_call": True, "search_strategy": 1},
    } | fields
    created = httpx.post(
        f"{server.base_url}/v1/bot/create",
        json={k: v for k, v in body.items() if k != "knowledge"},
        headers={"authorization": f"Bearer {token}"},
    ).json()
    assert created["code"] == 0, created
    bot_id = str(created["data"]["bot_id"])
    updated = httpx.post(
        f"{server.base_url}/v1/bot/update",
        json={"bot_id": bot_id, "knowledge": body["knowledge"]},
        headers={"authorization": f"Bearer {token}"},
    ).json()
    assert updated["code"] == 0, updated
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _ask(coze: Coze, bot_id: str, text: str) -> tuple[Any, dict[str, Any]]:
    chat = coze.chat.create(user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text(text)])
    assert chat.status == ChatStatus.COMPLETED, chat.last_error
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    (answer,) = [m for m in messages if m.type == MessageType.ANSWER]
    verbose = [json.loads(m.content) for m in messages if m.type == MessageType.VERBOSE]
    (check,) = [json.loads(v["data"]) for v in verbose if v["msg_type"] == "plait_self_check"]
    return answer, check


def test_an_unsupported_answer_is_marked_and_a_supported_one_passes(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    bot_id = _bot(server, token, coze, space_id, dataset_id, self_check={"threshold": 0.5, "on_fail": "mark"})
    answer, check = _ask(coze, bot_id, "Penguins enjoy jazz on Tuesdays.")
    assert answer.content == "Penguins enjoy jazz on Tuesdays."
    assert answer.meta_data["plait_self_check"] == "unsupported"
    assert float(answer.meta_data["plait_support_score"]) == check["score"] == 0.0
    assert (check["supported"], check["retried"], check["threshold"]) == (False, False, 0.5)
    assert check["sentences"][0]["text"] == "Penguins enjoy jazz on Tuesdays."
    answer, check = _ask(coze, bot_id, "Is the Zephyr 3000 kettle descaled with citric acid every month?")
    assert answer.meta_data["plait_self_check"] == "supported" and check["score"] == 1.0


def test_retry_generates_once_more_told_to_keep_to_the_sources(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    bot_id = _bot(
        server,
        token,
        coze,
        space_id,
        dataset_id,
        prompt_info={"prompt": "You are cheerful. You like long walks. You never stop talking."},
        model_info_config={"model_id": "scripted/prompt"},  # answers with its prompt: the retry's shows
        self_check={"threshold": 0.9, "on_fail": "retry"},
    )
    answer, check = _ask(coze, bot_id, "How often?")
    assert "Answer only with what the knowledge passages above say" in answer.content
    assert (check["retried"], check["supported"]) == (True, False)  # the retry failed too: it is marked
    assert check["first_score"] is not None and check["first_score"] < 0.9
    assert answer.meta_data["plait_self_check"] == "unsupported"


def test_bad_self_check_settings_are_refused(server: Running, token: str, space_id: str) -> None:
    for self_check, problem in [({"threshold": -1}, "threshold"), ({"on_fail": "shout"}, "on_fail")]:
        answer = httpx.post(
            f"{server.base_url}/v1/bot/create",
            json={"space_id": space_id, "name": "bad", "self_check": self_check},
            headers={"authorization": f"Bearer {token}"},
        ).json()
        assert answer["code"] == 4000 and problem in answer["msg"], answer
