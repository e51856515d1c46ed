"""What a bot sends its model, seen through ``scripted/prompt`` (which answers with its prompt): persona and
variables, knowledge from the bot's datasets, the section's history, a cleared section, the draft for owners."""

from __future__ import annotations

import httpx
import pytest
from cozepy import ChatEventType, ChatStatus, Coze, Message
from server_harness import Running, ingested_dataset

PERSONA = "You are {{role}} for {{company}}."
MANUAL = "The Zephyr 3000 kettle must be descaled with citric acid every month."


@pytest.fixture(scope="module")
def dataset_id(coze: Coze, space_id: str) -> str:
    return ingested_dataset(coze, space_id, "zephyr", MANUAL)


@pytest.fixture(scope="module")
def bot_id(server: Running, token: str, coze: Coze, space_id: str, dataset_id: str) -> str:
    bot_id = coze.bots.create(
        space_id=space_id,
        name="Support",
        prompt_info={"prompt": PERSONA},
        model_info_config={"model_id": "scripted/prompt", "context_round": 2},
    ).bot_id
    update = {
        "bot_id": bot_id,
        "variables": [
            {"keyword": "role", "default_value": "a support agent"},
            {"keyword": "company", "default_value": "Acme"},
        ],
        "knowledge": {"dataset_ids": [dataset_id], "auto_call": True, "search_strategy": 0},
    }
    answer = httpx.post(f"{server.base_url}/v1/bot/update", json=update, headers={"authorization": f"Bearer {token}"})
    assert answer.json()["code"] == 0
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _prompt(
    coze: Coze, bot_id: str, text: str, conversation_id: str = "", **options: dict[str, str]
) -> tuple[str, str]:
    chat = coze.chat.create(
        user_id="u",
        bot_id=bot_id,
        conversation_id=conversation_id or None,
        additional_messages=[Message.build_user_question_text(text)],
        **options,  # type: ignore[arg-type]
    )
    assert chat.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    return chat.conversation_id, next(m.content for m in messages if m.type == "answer")


def test_the_persona_takes_variables_and_the_datasets_answer(coze: Coze, bot_id: str) -> None:
    _, prompt = _prompt(coze, bot_id, "How often should the Zephyr kettle be descaled?")
    system, question = prompt.split("\n\nuser: ")
    assert system.startswith("system: You are a support agent for Acme.")
    assert "(zephyr.txt) " + MANUAL in system
    assert question == "How often should the Zephyr kettle be descaled?"
    _, custom = _prompt(coze, bot_id, "hello", custom_variables={"role": "a pirate"})
    assert custom.startswith("system: You are a pirate for Acme.")


def test_history_is_kept_to_the_rounds_and_the_section(coze: Coze, bot_id: str) -> None:
    earlier = []
    for n in (1, 2, 3):
        earlier += [Message.build_user_question_text(f"q{n}"), Message.build_assistant_answer(f"a{n}")]
    conversation = coze.conversations.create(bot_id=bot_id, messages=earlier)
    _, prompt = _prompt(coze, bot_id, "now", conversation.id)
    assert prompt.split("\n\n")[-3:] == ["user: q3", "assistant: a3", "user: now"]  # context_round 2
    assert "q2" not in prompt
    coze.conversations.clear(conversation_id=conversation.id)
    _, prompt = _prompt(coze, bot_id, "fresh", conversation.id)
    assert [p for p in prompt.split("\n\n") if not p.startswith(("system:", "Answer from", "[1]"))] == ["user: fresh"]


def test_owners_chat_with_drafts_others_need_a_published_version(server: Running, coze: Coze, space_id: str) -> None:
    draft = coze.bots.create(
        space_id=space_id,
        name="Draft",
        prompt_info={"prompt": "draft persona"},
        model_info_config={"model_id": "scripted/prompt"},
    ).bot_id
    _, prompt = _prompt(coze, draft, "hi")
    assert prompt.startswith("system: draft persona")
    member_key = server.make_key("--user", "someone", "--role", "member")
    member = server.coze(member_key)
    with pytest.raises(Exception, match="has not been published"):
        member.chat.create(user_id="u", bot_id=draft, additional_messages=[Message.build_user_question_text("hi")])


def test_without_auto_call_the_model_searches_the_datasets_as_a_tool(
    server: Running, token: str, coze: Coze, space_id: str, dataset_id: str
) -> None:
    bot_id = coze.bots.create(
        space_id=space_id, name="Searcher", model_info_config={"model_id": "scripted/tools"}
    ).bot_id
    knowledge = {"dataset_ids": [dataset_id], "auto_call": False, "search_strategy": 20}
    answer = httpx.post(
        f"{server.base_url}/v1/bot/update",
        json={"bot_id": bot_id, "knowledge": knowledge},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.json()["code"] == 0
    chat = coze.chat.create(
        user_id="u",
        bot_id=bot_id,
        additional_messages=[Message.build_user_question_text('call search_knowledge {"query": "Zephyr descaled"}')],
    )
    assert chat.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.type for m in messages] == ["question", "function_call", "tool_output", "verbose", "answer"]
    assert MANUAL in messages[2].content and MANUAL in messages[4].content  # the verbose one: the chunks given
    _, prompt = _prompt(coze, bot_id, "no search")  # without auto_call nothing is retrieved up front
    assert prompt == "no search"


def test_suggest_reply_adds_follow_up_questions(server: Running, token: str, coze: Coze, space_id: str) -> None:
    bot_id = coze.bots.create(
        space_id=space_id,
        name="Suggester",
        model_info_config={"model_id": "scripted/echo"},
        suggest_reply_info={"reply_mode": "enable"},
    ).bot_id
    events = list(
        coze.chat.stream(user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text("hi")])
    )
    completed = [e.message for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED]
    # scripted/echo "suggests" the last message it was sent: the exchange, one line each
    assert [(m.type, m.content) for m in completed if m.type == "follow_up"] == [
        ("follow_up", "Question: hi"),
        ("follow_up", "Answer: hi"),
    ]
    assert [m.type for m in completed] == ["answer", "verbose", "follow_up", "follow_up"]
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    chat = events[-1].chat
    stored = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.type for m in stored] == ["question", "answer", "follow_up", "follow_up"]
