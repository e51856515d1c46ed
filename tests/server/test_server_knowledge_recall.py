"""The knowledge a turn used, through the Coze API: an ``auto_call`` bot's streamed turn carries a ``verbose``
message in Coze's ``knowledge_recall`` shape (cozepy parses it), before the answer, listing the chunks in the
prompt with their text, document, dataset, chunk id and the scores its search strategy computed; it stays in
the history; a turn that found nothing, or a bot without datasets, has none. Without ``auto_call`` the chunks
the model's own search gave it follow that tool's output."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cozepy import ChatEventType, Coze, Message, MessageType
from server_harness import Running, ingested_dataset

MANUAL = "The Zephyr 3000 kettle must be descaled with citric acid every month."


@pytest.fixture(scope="module")
def dataset_id(coze: Coze, space_id: str) -> str:
    return ingested_dataset(coze, space_id, "recalled", MANUAL)


def _bot(
    server: Running,
    token: str,
    coze: Coze,
    space_id: str,
    knowledge: dict[str, Any] | None,
    model: str = "scripted/echo",
) -> str:
    bot_id = coze.bots.create(space_id=space_id, name="Recall", model_info_config={"model_id": model}).bot_id
    if knowledge is not None:
        update = {"bot_id": bot_id, "knowledge": {"auto_call": True} | knowledge}
        answer = httpx.post(
            f"{server.base_url}/v1/bot/update", json=update, headers={"authorization": f"Bearer {token}"}
        )
        assert answer.json()["code"] == 0, answer.text
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _streamed(coze: Coze, bot_id: str, text: str) -> list[Any]:
    """The turn's completed messages, as cozepy parsed them from the stream."""
    question = Message.build_user_question_text(text)
    events = list(coze.chat.stream(user_id="u", bot_id=bot_id, additional_messages=[question]))
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED, events[-1]
    return [e.message for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED]


def _recalls(messages: list[Any]) -> list[dict[str, Any]]:
    verbose = [json.loads(m.content) for m in messages if m.type == MessageType.VERBOSE]
    return [json.loads(v["data"]) for v in verbose if v["msg_type"] == "knowledge_recall"]


def test_a_hybrid_turn_streams_the_chunks_it_used_before_the_answer(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    bot_id = _bot(server, token, coze, space_id, {"dataset_ids": [dataset_id], "search_strategy": 0})
    messages = _streamed(coze, bot_id, "How often is the Zephyr kettle descaled?")
    types = [m.type for m in messages]
    assert types.index(MessageType.VERBOSE) < types.index(MessageType.ANSWER)  # the recall comes first
    ((recall),) = _recalls(messages)
    (chunk,) = recall["chunks"]
    assert chunk["slice"] == MANUAL and chunk["truncated"] is False
    assert chunk["meta"]["dataset"] == {"id": dataset_id, "name": "recalled"}
    assert chunk["meta"]["document"]["name"] == "recalled.txt" and chunk["meta"]["document"]["id"]
    assert chunk["chunk_id"]
    scores = chunk["scores"]
    assert set(scores) == {"hybrid", "bm25", "vector"} and scores["hybrid"] == chunk["score"] > 0
    assert scores["bm25"] > 0 and -1 <= scores["vector"] <= 1
    conversation_id, chat_id = messages[0].conversation_id, messages[0].chat_id
    kept = coze.chat.messages.list(conversation_id=conversation_id, chat_id=chat_id)
    assert _recalls(kept) == [recall]  # saved with the turn, as the guard's and the self-check's are


def test_each_strategy_reports_its_own_score_and_nothing_found_reports_nothing(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    for strategy, name in [(1, "vector"), (20, "bm25")]:
        bot_id = _bot(server, token, coze, space_id, {"dataset_ids": [dataset_id], "search_strategy": strategy})
        ((recall),) = _recalls(_streamed(coze, bot_id, "citric acid descaling"))
        (chunk,) = recall["chunks"]
        assert chunk["scores"] == {name: chunk["score"]}, chunk
    assert _recalls(_streamed(coze, bot_id, "penguins jazz tuesday")) == []  # full text: no word matches
    plain = _bot(server, token, coze, space_id, None)
    assert _recalls(_streamed(coze, plain, "How often is the Zephyr kettle descaled?")) == []


def test_chunks_the_model_searched_for_follow_the_tools_output(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    knowledge = {"dataset_ids": [dataset_id], "auto_call": False, "search_strategy": 20}
    bot_id = _bot(server, token, coze, space_id, knowledge, model="scripted/tools")  # calls what it is told to
    messages = _streamed(coze, bot_id, 'call search_knowledge {"query": "citric acid"}')
    assert [m.type for m in messages][:3] == [MessageType.FUNCTION_CALL, MessageType.TOOL_OUTPUT, MessageType.VERBOSE]
    ((recall),) = _recalls(messages)
    (chunk,) = recall["chunks"]
    assert chunk["slice"] == MANUAL and set(chunk["scores"]) == {"bm25"}
    assert _recalls(_streamed(coze, bot_id, 'call search_knowledge {"query": "penguins"}')) == []  # found nothing
