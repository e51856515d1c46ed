"""Runs workflows as tasks of this process: each drives the engine with the durable checkpointer, turns its
events into the Coze stream events of the run's log and writes the run's end. A run outlives the request that
started it (async runs are jobs); at shutdown a run is left ``running`` for the next start to resume."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from plait.observability.metrics import JOBS, JOBS_QUEUED
from plait.platform.providers import WorkspaceModels
from plait.platform.workflows.checkpoints import DurableCheckpointer
from plait.platform.workflows.events import RunLog, StreamDone, StreamError, StreamInterrupt, StreamMessage
from plait.platform.workflows.records import INTERRUPT_TYPES, RunUsage, debug_url
from plait.store import Database, new_id
from plait.store.base import now
from plait.store.tables import WorkflowNodeRun
from plait.workflows.dsl import WorkflowDoc
from plait.workflows.events import Interrupted, MessageOut, NodeFailed, NodeStarted, RunFailed, RunFinished
from plait.workflows.nodes.base import Services, ToolSource
from plait.workflows.run import resume_workflow, run_workflow

log = logging.getLogger(__name__)
NODE_FAILED = 5004  # a node failed the run: the message is the node's own error, for the workflow's author
RUN_FAILED = 5000  # anything else: the message names the run, the details are in the server log
NO_ANSWER = object()  # a fresh run, not a resume


@dataclass(slots=True, kw_only=True)
class RunJob:
    run_id: str
    workspace_id: str
    workflow_id: str
    doc: WorkflowDoc
    inputs: dict[str, Any]
    system: dict[str, Any] = field(default_factory=dict)
    created_by: str = ""  # the user who started the run: its nodes act as that user of the workspace
    answer: Any = NO_ANSWER  # the answer to the pending interrupt; a recovered run has none


class RunPorts(Protocol):
    """What a run's nodes reach of the platform (bots, conversations, datasets, workflows, plugins), bound to the
    run's workspace and user: ``ports.PlatformPorts``. A protocol here, as that module needs the chat runner,
    which needs this one."""

    def bind(self, workspace_id: str, user_id: str) -> tuple[ToolSource, dict[type[Any], Any]]: ...


@dataclass(slots=True)
class Execution:
    """One segment of a run in this process (its start or a resume, to its pause or end)."""

    job: RunJob
    log: RunLog = field(default_factory=RunLog)
    task: asyncio.Task[None] | None = None
    status: str = "running"
    output: str = ""
    usage: RunUsage = field(default_factory=RunUsage)
    error_code: int = 0
    error_message: str = ""


class WorkflowRunner:
    def __init__(
        self,
        database: Database,
        *,
        models: WorkspaceModels,
        instance: str,
        max_running: int = 64,
        timeout_seconds: float = 600.0,
        extras: dict[type[Any], Any] | None = None,
        ports: RunPorts | None = None,
    ) -> None:
        self._database = database
        self._models = models
        self.instance = instance
        self._slots = asyncio.Semaphore(max_running)  # the rest wait their turn: a burst of async jobs queues
        self._timeout = timeout_seconds
        self._extras = extras or {}
        self._ports = ports
        self._runs: dict[str, Execution] = {}
        self._followers: set[asyncio.Task[None]] = set()
        self.queue: Callable[[RunJob], Awaitable[None]] | None = None  # with Redis: async runs (platform/jobs.py)

    def start(self, job: RunJob) -> Execution:
        """Start (or continue) the run; call once its row is committed."""
        execution = Execution(job)
        self._runs[job.run_id] = execution
        execution.task = asyncio.create_task(self._execute(execution), name=f"workflow run {job.run_id}")
        execution.task.add_done_callback(lambda _: self._runs.pop(job.run_id, None))
        JOBS_QUEUED.labels("workflow").inc()  # waiting for a slot or running
        execution.task.add_done_callback(lambda _: JOBS_QUEUED.labels("workflow").dec())
        return execution

    async def submit(self, job: RunJob) -> Execution:
        """An async run: queued for a `plait worker` when there is a queue, else started here."""
        if self.queue is None:
            return self.start(job)
        await self.queue(job)
        return Execution(job)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the runs (what follows one, such as a chatflow's chat), until shutdown."""
        task = asyncio.create_task(work)
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    def get(self, run_id: str) -> Execution | None:
        return self._runs.get(run_id)

    async def aclose(self) -> None:
        """At shutdown: stop the runs; their rows stay ``running`` and the next start resumes them."""
        tasks = [run.task for run in self._runs.values() if run.task is not None] + list(self._followers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _execute(self, execution: Execution) -> None:
        run_id = execution.job.run_id
        try:
            async with self._slots, asyncio.timeout(self._timeout):
                await self._drive(execution)
        except asyncio.CancelledError:
            execution.log.append(StreamError(RUN_FAILED, "the server stopped; the run goes on when it starts again"))
            raise
        except TimeoutError:
            await asyncio.shield(self._end(execution, "fail", code=RUN_FAILED, message="the run timed out"))
        except Exception as exc:  # the run fails visibly; the server keeps serving
            log.error("workflow run %s failed", run_id, exc_info=exc)
            message = f"internal error in workflow run {run_id}"
            await asyncio.shield(self._end(execution, "fail", code=RUN_FAILED, message=message))

    async def _drive(self, execution: Execution) -> None:
        job = execution.job
        services = await self._services(job)
        checkpointer = DurableCheckpointer(self._database, workspace_id=job.workspace_id, doc=job.doc)
        if job.answer is NO_ANSWER and await checkpointer.load(job.run_id) is None:
            events = run_workflow(
                job.doc, job.inputs, services=services, run_id=job.run_id, system=job.system,
                checkpointer=checkpointer, stream=True,
            )  # fmt: skip
        else:
            answer = None if job.answer is NO_ANSWER else job.answer
            events = resume_workflow(
                job.doc, job.run_id, answer, checkpointer=checkpointer, services=services, stream=True
            )
        titles = {node.id: node.title or node.id for node in job.doc.nodes}
        sequence: dict[str, int] = {}
        ends = {node.id for node in job.doc.nodes if node.type == "end"}
        end_spoke = False
        interrupt: Interrupted | None = None
        failed_node: NodeFailed | None = None
        async for event in events:
            if isinstance(event, NodeStarted) and not event.path:
                checkpointer.node_started(event.node_id, event.inputs)
            elif isinstance(event, MessageOut):
                seq = sequence.get(event.node_id, 0)
                sequence[event.node_id] = seq + 1
                end_spoke = end_spoke or event.node_id in ends
                title = titles.get(event.node_id, event.node_id)
                execution.log.append(StreamMessage(_text(event.content), title, seq, event.stream_end))
            elif isinstance(event, NodeFailed) and not event.path:
                failed_node = event
            elif isinstance(event, Interrupted):
                interrupt = interrupt or event
            elif isinstance(event, RunFinished):
                usage = _usage(event.usage)
                output = _text(event.outputs)
                if not end_spoke:
                    content = event.answer if event.answer is not None else output
                    title = titles.get(next(iter(ends), "end"), "End")
                    execution.log.append(StreamMessage(content, title, 0, True, usage))
                await self._end(execution, "success", output=output, usage=usage)
                return
            elif isinstance(event, RunFailed):
                await self._end(execution, "fail", code=NODE_FAILED, message=event.error, failed=failed_node)
                return
        if interrupt is None:
            await self._end(execution, "fail", code=RUN_FAILED, message="the run stopped without a result")
            return
        execution.status = "interrupted"
        event_id = f"{job.run_id}/{checkpointer.interrupt_seq}"
        kind = INTERRUPT_TYPES.get(interrupt.kind, INTERRUPT_TYPES["question"])
        title = titles.get(interrupt.node_id, interrupt.node_id)
        execution.log.append(StreamInterrupt(event_id, kind, _text(interrupt.data), title))

    async def _services(self, job: RunJob) -> Services:
        """What the run's nodes reach: the workspace's models, what the ports bind to its workspace and user,
        and the process's extras."""
        extras = dict(self._extras)
        tools: ToolSource | None = None
        if self._ports is not None:
            tools, bound = self._ports.bind(job.workspace_id, job.created_by)
            extras |= bound
        return Services(models=await self._models.registry(job.workspace_id), tools=tools, extras=extras)

    async def _end(
        self,
        execution: Execution,
        status: str,
        *,
        output: str = "",
        usage: RunUsage | None = None,
        code: int = 0,
        message: str = "",
        failed: NodeFailed | None = None,
    ) -> None:
        """Write the run's end (one conditional update, and the failed node's row), then tell its streams."""
        job = execution.job
        execution.status, execution.output, execution.error_code, execution.error_message = (
            status,
            output,
            code,
            message,
        )
        execution.usage = usage or RunUsage()
        JOBS.labels("workflow", status).inc()
        values: dict[str, Any] = {"status": status, "output": output, "error_code": code, "error_message": message}
        values |= {"usage": execution.usage.to_json(), "interrupt": None}
        async with self._database.unit_of_work() as uow:
            if failed is not None:
                await uow.workflow_node_runs.insert_new([_failed_row(job, failed)])
            await uow.workflow_runs.move(job.run_id, ("running",), **values)
        if status == "success":
            execution.log.append(StreamDone(debug_url(job.workflow_id, job.run_id)))
        else:
            execution.log.append(StreamError(code, message))


def _failed_row(job: RunJob, event: NodeFailed) -> WorkflowNodeRun:
    node = next((node for node in job.doc.nodes if node.id == event.node_id), None)
    stamp = now()
    return WorkflowNodeRun(
        id=new_id(),
        workspace_id=job.workspace_id,
        run_id=job.run_id,
        node_id=event.node_id,
        node_type=event.node_type,
        node_title=(node.title or node.id) if node else event.node_id,
        status="fail",
        inputs=event.inputs,
        outputs=None,
        error=event.error,
        duration_ms=round(event.duration * 1000),
        created_at=stamp,
        updated_at=stamp,
    )


def _text(value: Any) -> str:
    """A value as Coze shows it: text as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _usage(usage: dict[str, int]) -> RunUsage:
    return RunUsage(
        input_count=int(usage.get("input_count", usage.get("input_tokens", usage.get("prompt_tokens", 0)))),
        output_count=int(usage.get("output_count", usage.get("output_tokens", usage.get("completion_tokens", 0)))),
    )
