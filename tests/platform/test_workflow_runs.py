"""Durable workflow runs as use cases over a real database (SQLite and PostgreSQL): every finished node is a
checkpoint row, bad parameters are refused before a run exists, and a run left ``running`` by a dead worker is
resumed from its checkpoint without running its finished nodes again."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from plait.platform import InvalidParams, bots
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.chat.runner import ChatRunner
from plait.platform.providers import WorkspaceModels
from plait.platform.workflows import catalog, runs, trial
from plait.platform.workflows.bots import WorkspaceBots
from plait.platform.workflows.checkpoints import DurableCheckpointer
from plait.platform.workflows.recovery import Recovery
from plait.platform.workflows.runner import Execution, WorkflowRunner
from plait.store import Database
from plait.store.crypto import SecretBox
from plait.workflows import NodeChunk, RunFinished, Services, run_workflow
from plait.workflows.ports import BotRunner
from plait.workflows.state import NodeRecord, RunState

ECHO: dict[str, Any] = {
    "name": "echo",
    "inputs": [{"name": "text", "type": "string"}, {"name": "times", "type": "integer", "required": False}],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "inputs": {"echo": {"ref": {"node": "start", "output": "text"}}}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}


@dataclass(slots=True)
class World:
    database: Database
    runner: WorkflowRunner
    models: WorkspaceModels
    owner: Principal


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    async with database.unit_of_work() as uow:
        admin = await bootstrap(uow)
        workspace, _ = (await user_workspaces(uow, admin.id))[0]
    owner = Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
    models = WorkspaceModels(database, SecretBox(os.urandom(32)))
    runner = WorkflowRunner(database, models=models, instance="me")
    try:
        yield World(database, runner, models, owner)
    finally:
        await runner.aclose()
        await database.dispose()


async def _run(world: World, workflow_id: str, parameters: dict[str, Any]) -> Execution:
    async with world.database.unit_of_work() as uow:
        request = runs.RunRequest(workflow_id=workflow_id, parameters=parameters, run_mode=0)
        execution = await runs.start_run(uow, world.owner, world.runner, request)
    assert execution.task is not None
    await execution.task
    return execution


async def test_each_finished_node_is_a_row_of_the_run_history(world: World) -> None:
    async with world.database.unit_of_work() as uow:
        workflow = await catalog.import_workflow(uow, world.owner, ECHO, publish=True)
    execution = await _run(world, workflow.id, {"text": "hello"})
    assert execution.status == "success" and execution.output == '{"echo":"hello"}'
    async with world.database.unit_of_work() as uow:
        history = await runs.get_run(uow, world.owner, workflow.id, execution.job.run_id)
    assert history.status == "success" and history.output == '{"echo":"hello"}'
    assert [(node.node_id, node.status) for node in history.nodes] == [("start", "success"), ("end", "success")]
    end = history.nodes[1]
    assert end.inputs == {"echo": "hello"} and end.outputs == {"echo": "hello"} and end.duration_ms is not None


async def test_a_run_takes_the_published_version_and_a_trial_the_draft_as_it_is_now(world: World) -> None:
    draft = {
        **ECHO,
        "nodes": [
            ECHO["nodes"][0],
            {**ECHO["nodes"][1], "inputs": {"draft": {"ref": {"node": "start", "output": "text"}}}},
        ],
    }
    async with world.database.unit_of_work() as uow:
        workflow = await catalog.import_workflow(uow, world.owner, ECHO, publish=True)
        await catalog.update_workflow(uow, world.owner, workflow.id, draft)
    published = await _run(world, workflow.id, {"text": "hi"})
    assert published.output == '{"echo":"hi"}'
    async with world.database.unit_of_work() as uow:
        trial_run = await trial.start_trial_run(uow, world.owner, world.runner, workflow.id, {"text": "hi"})
    assert trial_run.task is not None and trial_run.job.created_by == world.owner.user_id  # acts as its starter
    await trial_run.task
    assert trial_run.output == '{"draft":"hi"}'
    async with world.database.unit_of_work() as uow:
        listed = await trial.list_runs(uow, world.owner, workflow.id)
    assert [(run.version, run.run_mode) for run in listed.items] == [("draft", 1), (workflow.published_version, 0)]
    async with world.database.unit_of_work() as uow:
        with pytest.raises(InvalidParams, match="text: required"):  # checked against the draft's inputs too
            await trial.start_trial_run(uow, world.owner, world.runner, workflow.id, {})


async def test_bad_parameters_are_refused_before_a_run_exists(world: World) -> None:
    async with world.database.unit_of_work() as uow:
        workflow = await catalog.import_workflow(uow, world.owner, ECHO, publish=True)
    for parameters, named in (({}, "text: required"), ({"text": "x", "times": "two"}, "times: should be integer")):
        async with world.database.unit_of_work() as uow:
            request = runs.RunRequest(workflow_id=workflow.id, parameters=parameters, run_mode=0)
            with pytest.raises(InvalidParams, match=named):
                await runs.start_run(uow, world.owner, world.runner, request)


async def test_an_invalid_workflow_is_refused_with_every_problem(world: World) -> None:
    broken = {**ECHO, "nodes": [{"id": "start", "type": "start"}, {"id": "x", "type": "no_such_type"}], "edges": []}
    async with world.database.unit_of_work() as uow:
        with pytest.raises(InvalidParams) as refused:
            await catalog.import_workflow(uow, world.owner, broken, publish=False)
    assert "no_such_type" in refused.value.msg and "end" in refused.value.msg


async def test_import_then_export_gives_the_document_back_and_reimport_updates(world: World) -> None:
    async with world.database.unit_of_work() as uow:
        first = await catalog.import_workflow(uow, world.owner, ECHO, publish=False)
        exported = await catalog.export_workflow(uow, world.owner, first.id)
        again = await catalog.import_workflow(uow, world.owner, {**exported, "description": "v2"}, publish=True)
        versions = await catalog.list_versions(uow, world.owner, first.id)
    assert again.id == first.id and again.description == "v2" and again.published_version is not None
    assert exported["name"] == "echo" and len(versions.items) == 1


async def test_a_run_of_a_dead_worker_resumes_from_its_checkpoint(world: World) -> None:
    """The run's state says ``start`` finished (with a marker output it could never make itself): the resumed
    run must use it, not run ``start`` again."""
    async with world.database.unit_of_work() as uow:
        workflow = await catalog.import_workflow(uow, world.owner, ECHO, publish=True)
    async with world.database.unit_of_work() as uow:
        request = runs.RunRequest(workflow_id=workflow.id, parameters={"text": "hello"}, run_mode=2)
        row_id = await _orphan(uow, world, workflow.id, request)
    doc = await _doc(world, workflow.id)
    checkpointer = DurableCheckpointer(world.database, workspace_id=world.owner.workspace_id, doc=doc)
    state = RunState(run_id=row_id, workflow="echo", inputs={"text": "hello"})
    state.nodes["start"] = NodeRecord(
        outputs={"text": "from the checkpoint"}, branch=None, status="succeeded", started_at=0.0, duration=0.001
    )
    await checkpointer.save(state, "node", "start")
    await Recovery(world.database, world.runner, stale_after_seconds=60).sweep()
    execution = world.runner.get(row_id)
    assert execution is not None and execution.task is not None
    await execution.task
    async with world.database.unit_of_work() as uow:
        history = await runs.get_run(uow, world.owner, workflow.id, row_id)
    assert history.status == "success" and history.output == '{"echo":"from the checkpoint"}'
    assert [node.node_id for node in history.nodes] == ["start", "end"]  # start ran once: before the "crash"


async def _orphan(uow: Any, world: World, workflow_id: str, request: runs.RunRequest) -> str:
    """A run row as a worker that died at once would leave it: ``running``, its runner gone."""
    dead = WorkflowRunner(world.database, models=world.models, instance="dead")
    execution = await runs.start_run(uow, world.owner, dead, request)
    assert execution.task is not None
    execution.task.cancel()  # before it ever ran: no node of it finished
    await dead.aclose()
    return execution.job.run_id


async def _doc(world: World, workflow_id: str) -> Any:
    async with world.database.unit_of_work() as uow:
        _, _, doc = await catalog.published_document(uow, world.owner, workflow_id)
    return doc


async def test_an_agent_node_streams_the_bots_answer_as_its_chunks(world: World) -> None:
    """The bot's chat deltas reach the node's chunks as they come, and the chat is saved like any other."""
    async with world.database.unit_of_work() as uow:
        config = BotConfig(name="streamer", model=ModelSettings(model_id="scripted/echo"))
        bot = await bots.create_bot(uow, world.owner, world.owner.workspace_id, config)
        await bots.publish_bot(uow, world.owner, bot.id, ["1024"])
    doc = {
        "name": "ask",
        "inputs": [{"name": "q", "type": "string"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "bot", "type": "agent", "config": {"bot_id": bot.id},
             "inputs": {"message": {"ref": {"node": "start", "output": "q"}}}},
            {"id": "end", "type": "end", "inputs": {"answer": {"ref": {"node": "bot", "output": "answer"}}}},
        ],
        "edges": [{"source": "start", "target": "bot"}, {"source": "bot", "target": "end"}],
    }  # fmt: skip
    chats = ChatRunner(world.database, models=world.models)
    services = Services(extras={BotRunner: WorkspaceBots(world.database, chats, world.owner)})
    question = "a question long enough to stream in several pieces"
    try:
        events = [event async for event in run_workflow(doc, {"q": question}, services=services, stream=True)]
    finally:
        await chats.aclose()
    chunks = [event.chunk for event in events if isinstance(event, NodeChunk) and event.node_id == "bot"]
    assert len(chunks) > 1 and "".join(chunks) == question
    assert isinstance(events[-1], RunFinished) and events[-1].outputs == {"answer": question}
