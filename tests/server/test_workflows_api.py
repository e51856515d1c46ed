"""The Coze workflow API through cozepy on SQLite and PostgreSQL: runs answered, as jobs and streamed; run
histories with each node's execution; the catalog (Plait's create, Coze's list, retrieve and versions); bad
input refused with 4000 naming what is wrong; 200 concurrent async runs that all finish."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from cozepy import (
    ChatEventType,
    Coze,
    CozeAPIError,
    Message,
    WorkflowEventType,
    WorkflowExecuteStatus,
    WorkflowRunMode,
)
from server_harness import Running
from test_mcp_server import mcp_http

ECHO: dict[str, Any] = {
    "name": "echo",
    "description": "says the text back",
    "inputs": [{"name": "text", "type": "string"}, {"name": "times", "type": "integer", "required": False}],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "inputs": {"echo": {"ref": {"node": "start", "output": "text"}}}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}


def _post(server: Running, token: str, path: str, body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture(scope="module")
def echo_id(server: Running, token: str) -> str:
    created = _post(server, token, "/v1/workflows", {"document": ECHO, "publish": True})
    assert created["code"] == 0, created
    workflow_id: str = created["data"]["workflow_id"]
    return workflow_id


def _finished(coze: Coze, workflow_id: str, execute_id: str) -> Any:
    deadline = time.monotonic() + 60
    while True:
        history = coze.workflows.runs.run_histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
        if history.execute_status != WorkflowExecuteStatus.RUNNING:
            return history
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)


def test_a_run_answers_with_the_outputs_and_keeps_its_history(coze: Coze, echo_id: str) -> None:
    result = coze.workflows.runs.create(workflow_id=echo_id, parameters={"text": "hello"})
    assert json.loads(result.data or "") == {"echo": "hello"} and result.execute_id and result.usage is not None
    history = coze.workflows.runs.run_histories.retrieve(workflow_id=echo_id, execute_id=result.execute_id or "")
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS and history.run_mode == WorkflowRunMode.SYNCHRONOUS
    assert json.loads(history.output) == {"echo": "hello"} and history.error_code == 0
    nodes = history.node_execute_status or {}
    assert set(nodes) == {"start", "end"} and all(node.is_finish for node in nodes.values())
    end = coze.workflows.runs.run_histories.execute_nodes.retrieve(
        workflow_id=echo_id, execute_id=result.execute_id or "", node_execute_uuid=nodes["end"].node_execute_uuid
    )
    assert end.is_finish and json.loads(end.node_output or "") == {"echo": "hello"}


def test_an_async_run_is_a_job_read_from_its_history(coze: Coze, echo_id: str) -> None:
    result = coze.workflows.runs.create(workflow_id=echo_id, parameters={"text": "later"}, is_async=True)
    assert result.data == "" and result.execute_id
    history = _finished(coze, echo_id, result.execute_id or "")
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS and history.run_mode == WorkflowRunMode.ASYNCHRONOUS
    assert json.loads(history.output) == {"echo": "later"}


def test_a_streamed_run_sends_its_message_then_done(coze: Coze, echo_id: str) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=echo_id, parameters={"text": "streamed"}))
    assert [event.event for event in events] == [WorkflowEventType.MESSAGE]  # cozepy swallows Done: the stream ends
    message = events[0].message
    assert message is not None and json.loads(message.content) == {"echo": "streamed"} and message.node_is_finish


def test_the_raw_stream_is_id_event_data_and_ends_with_done(server: Running, token: str, echo_id: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"workflow_id": echo_id, "parameters": json.dumps({"text": "raw"})}  # parameters as JSON text
    with httpx.stream("POST", f"{server.base_url}/v1/workflow/stream_run", json=body, headers=headers) as response:
        lines = [line for line in response.iter_lines() if line]
    assert [line.split(":", 1)[0] for line in lines] == ["id", "event", "data"] * 2
    assert lines[0] == "id: 0" and lines[1] == "event: Message" and lines[4] == "event: Done"
    assert "debug_url" in json.loads(lines[5].removeprefix("data: "))


def test_bad_parameters_are_refused_naming_the_parameter(coze: Coze, server: Running, token: str, echo_id: str) -> None:
    with pytest.raises(CozeAPIError) as missing:
        coze.workflows.runs.create(workflow_id=echo_id, parameters={})
    assert missing.value.code == 4000 and "text" in (missing.value.msg or "")
    with pytest.raises(CozeAPIError) as mistyped:
        coze.workflows.runs.create(workflow_id=echo_id, parameters={"text": "x", "times": "two"})
    assert mistyped.value.code == 4000 and "times" in (mistyped.value.msg or "")
    not_json = _post(server, token, "/v1/workflow/run", {"workflow_id": echo_id, "parameters": "{oops"})
    assert not_json["code"] == 4000 and "parameters" in not_json["msg"]
    unknown = _post(server, token, "/v1/workflow/run", {"workflow_id": "1234", "parameters": {}})
    assert unknown["code"] == 4200


def test_an_invalid_workflow_is_refused_with_every_problem(server: Running, token: str) -> None:
    broken = {**ECHO, "name": "broken", "nodes": [{"id": "start", "type": "start"}, {"id": "x", "type": "nope"}]}
    refused = _post(server, token, "/v1/workflows", {"document": {**broken, "edges": []}})
    assert refused["code"] == 4000 and "nope" in refused["msg"] and "end" in refused["msg"]


def test_resuming_an_unknown_event_or_a_finished_run_is_refused(coze: Coze, echo_id: str) -> None:
    finished = coze.workflows.runs.create(workflow_id=echo_id, parameters={"text": "done"}).execute_id or ""
    for event_id, said in ((f"{finished}/1", "finished"), ("nonsense", "no run"), ("123/1", "no run")):
        with pytest.raises(CozeAPIError) as refused:
            list(coze.workflows.runs.resume(workflow_id=echo_id, event_id=event_id, resume_data="x", interrupt_type=2))
        assert refused.value.code == 4000 and said in (refused.value.msg or "")


def test_the_catalog_lists_retrieves_and_shows_versions(coze: Coze, server: Running, token: str, echo_id: str) -> None:
    listed = [item.workflow_id for item in coze.workflows.list().items]
    assert echo_id in listed
    detail = coze.workflows.retrieve(workflow_id=echo_id).workflow_detail
    assert detail.workflow_name == "echo" and detail.description == "says the text back"
    published = _post(server, token, f"/v1/workflows/{echo_id}/publish", {})
    assert published["code"] == 0
    versions = list(coze.workflows.versions.list(workflow_id=echo_id, page_size=1))
    assert len(versions) == 2 and versions[0].version == published["data"]["version"]


async def _many_async_runs(server: Running, token: str, workflow_id: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, limits=limits, timeout=60) as client:

        async def one(index: int) -> str:
            body = {"workflow_id": workflow_id, "parameters": {"text": f"job {index}"}, "is_async": True}
            answer = (await client.post("/v1/workflow/run", json=body)).json()
            assert answer["code"] == 0, answer
            execute_id: str = answer["execute_id"]
            return execute_id

        return await asyncio.gather(*(one(index) for index in range(count)))


def test_200_concurrent_async_runs_all_finish(coze: Coze, server: Running, token: str, echo_id: str) -> None:
    execute_ids = asyncio.run(_many_async_runs(server, token, echo_id, 200))
    assert len(set(execute_ids)) == 200
    outputs = {json.loads(_finished(coze, echo_id, execute_id).output)["echo"] for execute_id in execute_ids}
    assert outputs == {f"job {index}" for index in range(200)}


CHATFLOW: dict[str, Any] = {
    "name": "chat echo",
    "kind": "chatflow",
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "reply",
            "type": "llm",
            "config": {"model": "scripted/echo", "prompt": "You said: {{ q }}"},
            "inputs": {"q": {"ref": {"node": "$sys", "output": "query"}}},
        },
        {
            "id": "end",
            "type": "end",
            "config": {"mode": "answer", "template": "{{ text }}"},
            "inputs": {"text": {"ref": {"node": "reply", "output": "text"}}},
        },
    ],
    "edges": [{"source": "start", "target": "reply"}, {"source": "reply", "target": "end"}],
}


def test_a_chatflow_answers_as_a_chat_and_saves_the_conversation(coze: Coze, server: Running, token: str) -> None:
    created = _post(server, token, "/v1/workflows", {"document": CHATFLOW, "publish": True})
    assert created["code"] == 0, created
    workflow_id = created["data"]["workflow_id"]
    question = Message.build_user_question_text("hello there")
    events = list(coze.workflows.chat.stream(workflow_id=workflow_id, additional_messages=[question]))
    kinds = [event.event for event in events]
    assert kinds[:2] == [ChatEventType.CONVERSATION_CHAT_CREATED, ChatEventType.CONVERSATION_CHAT_IN_PROGRESS]
    assert kinds[-1] == ChatEventType.CONVERSATION_CHAT_COMPLETED
    deltas = "".join(
        event.message.content
        for event in events
        if event.event == ChatEventType.CONVERSATION_MESSAGE_DELTA and event.message
    )
    assert deltas == "You said: hello there"
    chat = events[-1].chat
    assert chat is not None
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [(m.role, m.content) for m in messages] == [("user", "hello there"), ("assistant", "You said: hello there")]
    with pytest.raises(CozeAPIError) as not_a_chatflow:
        list(
            coze.workflows.chat.stream(
                workflow_id=_post(server, token, "/v1/workflows", {"document": {**ECHO, "name": "plain"}})["data"][
                    "workflow_id"
                ],
                additional_messages=[question],
            )
        )
    assert not_a_chatflow.value.code == 4000


def test_a_published_workflow_is_a_tool_of_a_bot_that_lists_it(coze: Coze, space_id: str, echo_id: str) -> None:
    bot_id = coze.bots.create(
        space_id=space_id,
        name="Workflow user",
        model_info_config={"model_id": "scripted/tools"},
        workflow_id_list={"ids": [{"id": echo_id}]},
    ).bot_id
    coze.bots.publish(bot_id=bot_id)
    question = Message.build_user_question_text('call echo {"text": "from a bot"}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[question])
    output = next(m for m in result.messages or [] if m.type == "tool_output")
    assert json.loads(output.content) == {"echo": "from a bot"}
    wrong = Message.build_user_question_text('call echo {"times": 2}')
    result = coze.chat.create_and_poll(user_id="u", bot_id=bot_id, additional_messages=[wrong])
    refused = next(m for m in result.messages or [] if m.type == "tool_output")
    assert "text: required" in refused.content


async def _mcp_listed_and_called(server: Running, token: str) -> tuple[list[Any], list[Any]]:
    async with mcp_http(server, token) as client:
        listed = (await client.list_tools()).tools
        results = [
            await client.call_tool("echo", {"text": "over mcp"}),
            await client.call_tool("echo", {"times": 1}),
        ]
    return listed, results


def test_a_published_workflow_is_an_mcp_tool(server: Running, token: str, echo_id: str) -> None:
    listed, (called, refused) = asyncio.run(_mcp_listed_and_called(server, token))
    tool = next(tool for tool in listed if tool.name == "echo")
    assert tool.input_schema["required"] == ["text"] and tool.input_schema["properties"]["times"]["type"] == "integer"
    assert not called.is_error and json.loads(called.content[0].text) == {"echo": "over mcp"}
    assert refused.is_error and "text: required" in refused.content[0].text


TWO_QUESTIONS: dict[str, Any] = {
    "name": "two questions",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "first", "type": "question", "title": "First?", "config": {"question": "Tea or coffee?"}},
        {"id": "second", "type": "question", "title": "Second?", "config": {"question": "Milk?"}},
        {
            "id": "end",
            "type": "end",
            "inputs": {
                "drink": {"ref": {"node": "first", "output": "answer"}},
                "milk": {"ref": {"node": "second", "output": "answer"}},
            },
        },
    ],
    "edges": [
        {"source": "start", "target": "first"},
        {"source": "start", "target": "second"},
        {"source": "first", "target": "end"},
        {"source": "second", "target": "end"},
    ],
}


def test_parallel_questions_are_asked_and_answered_one_event_at_a_time(coze: Coze, server: Running, token: str) -> None:
    workflow_id = _post(server, token, "/v1/workflows", {"document": TWO_QUESTIONS, "publish": True})["data"][
        "workflow_id"
    ]
    answers = {"First?": "coffee", "Second?": "no"}
    events = list(coze.workflows.runs.stream(workflow_id=workflow_id, parameters={}))
    asked = []
    for _ in range(2):
        assert [event.event for event in events] == [WorkflowEventType.INTERRUPT]
        interrupt = events[0].interrupt
        assert interrupt is not None
        asked.append(interrupt.node_title)
        event_id = interrupt.interrupt_data.event_id
        events = list(
            coze.workflows.runs.resume(
                workflow_id=workflow_id, event_id=event_id, resume_data=answers[interrupt.node_title], interrupt_type=2
            )
        )
        with pytest.raises(CozeAPIError) as stale:  # an answered event is not answered twice
            list(
                coze.workflows.runs.resume(
                    workflow_id=workflow_id, event_id=event_id, resume_data="x", interrupt_type=2
                )
            )
        assert stale.value.code == 4000
    assert sorted(asked) == ["First?", "Second?"]
    assert [event.event for event in events] == [WorkflowEventType.MESSAGE]
    message = events[0].message
    assert message is not None and json.loads(message.content) == {"drink": "coffee", "milk": "no"}


def test_a_bot_may_list_only_workflows_of_its_workspace(
    coze: Coze, server: Running, token: str, space_id: str, echo_id: str
) -> None:
    other = server.make_key("--workspace", "Bots elsewhere")
    theirs = _post(server, other, "/v1/workflows", {"document": {**ECHO, "name": "their echo"}})["data"]["workflow_id"]
    for missing in ("999", theirs):
        with pytest.raises(CozeAPIError) as refused:
            coze.bots.create(
                space_id=space_id,
                name="Lister",
                model_info_config={"model_id": "scripted/echo"},
                workflow_id_list={"ids": [{"id": echo_id}, {"id": missing}]},
            )
        assert refused.value.code == 4000 and f"workflow {missing} not found" in (refused.value.msg or "")
        assert "workflow_id_list.ids[1]" in (refused.value.msg or "")
    bot_id = coze.bots.create(space_id=space_id, name="Lister", model_info_config={"model_id": "scripted/echo"}).bot_id
    update = {"bot_id": bot_id, "workflow_id_list": {"ids": [{"id": theirs}]}}  # cozepy's update lacks the field
    refused_update = _post(server, token, "/v1/bot/update", update)
    assert refused_update["code"] == 4000 and f"workflow {theirs} not found" in refused_update["msg"]
    kept = _post(server, token, "/v1/bot/update", {**update, "workflow_id_list": {"ids": [{"id": echo_id}]}})
    assert kept["code"] == 0, kept


FORM: dict[str, Any] = {
    "name": "form",
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "form",
            "type": "input",
            "title": "About you",
            "config": {"fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "integer"}]},
        },
        {"id": "end", "type": "end", "inputs": {"age": {"ref": {"node": "form", "output": "age"}}}},
    ],
    "edges": [{"source": "start", "target": "form"}, {"source": "form", "target": "end"}],
}


def test_an_input_node_asks_again_until_its_form_is_right(coze: Coze, server: Running, token: str) -> None:
    workflow_id = _post(server, token, "/v1/workflows", {"document": FORM, "publish": True})["data"]["workflow_id"]
    events = list(coze.workflows.runs.stream(workflow_id=workflow_id, parameters={}))
    for answer in ('{"name": "Ada"}', '{"name": "Ada", "age": "36"}'):  # the first misses a required field
        interrupt = events[-1].interrupt
        assert interrupt is not None and interrupt.interrupt_data.type == 5, events
        events = list(
            coze.workflows.runs.resume(
                workflow_id=workflow_id,
                event_id=interrupt.interrupt_data.event_id,
                resume_data=answer,
                interrupt_type=5,
            )
        )
    message = events[-1].message
    assert message is not None and json.loads(message.content) == {"age": 36}
