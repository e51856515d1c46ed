"""Runs chats: each a task that drives the bot's ReAct agent, saves messages as they complete and publishes
its events to the run's log, which any number of streams follow.

A run outlives the request that started it (a non-streamed chat answers ``in_progress`` and goes on); a
streamed chat's client that disconnects cancels it, and what was produced is kept with status ``canceled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plait.agents import AnswerDelta, Answered, Paused, ReactAgent, ToolCallsMade, ToolResult
from plait.compose import GraphRunError
from plait.platform.bot_graph import BOT_GRAPH, Turn
from plait.platform.chat_events import ChatEvent, EventKind, EventLog
from plait.platform.chat_knowledge import BotKnowledge
from plait.platform.chat_prompt import function_call_content
from plait.platform.chats import ChatJob, chat_message
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.model_configs import WorkspaceModels
from plait.platform.views import chat_view, message_view, tool_call_view
from plait.schema import Message, ToolSpec, Usage
from plait.store import UnitOfWork, new_id
from plait.store.base import now
from plait.store.models import Chat
from plait.store.models import Message as MessageRow

MODEL_OPTIONS = ("temperature", "max_tokens", "top_p")
SUGGEST_PROMPT = (
    "Suggest up to three short questions the user could ask next about this exchange, one per line, "
    "in the user's language, without numbering or any other text."
)
MAX_FOLLOW_UPS = 3
UNSAVED_GRACE_SECONDS = 0.05  # how long a deferred chat may stay out of the database while it runs
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
VERBOSE_FINISH = '{"msg_type":"generate_answer_finish","data":"","from_module":null,"from_unit":null}'


@dataclass(slots=True)
class Run:
    job: ChatJob
    log: EventLog = field(default_factory=EventLog)
    task: asyncio.Task[None] | None = None

    @property
    def chat(self) -> Chat:
        return self.job.chat


class ChatRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        datasets: DatasetIndexes | None = None,
        models: WorkspaceModels,
    ) -> None:
        self._sessions = sessions
        self._datasets = datasets
        self._models = models
        self._runs: dict[str, Run] = {}
        self._background: set[asyncio.Task[None]] = set()

    def start(self, job: ChatJob) -> Run:
        """Start the run; call after the job's records are committed."""
        run = Run(job)
        chat_id = job.chat.id
        self._runs[chat_id] = run
        run.task = asyncio.create_task(self._execute(run), name=f"chat {chat_id}")
        if job.unsaved:  # a run still going after the grace period shows up in the database
            timer = asyncio.get_running_loop().call_later(UNSAVED_GRACE_SECONDS, self._save_soon, job)
            run.task.add_done_callback(lambda _: timer.cancel())
        run.task.add_done_callback(lambda _: self._runs.pop(chat_id, None))
        return run

    def _save_soon(self, job: ChatJob) -> None:
        task = asyncio.create_task(self._save(job, []))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def get(self, chat_id: str) -> Run | None:
        return self._runs.get(chat_id)

    def stop(self, chat_id: str) -> None:
        """Cancel without waiting: what a stream does when its client is gone (it may not await any more)."""
        run = self._runs.get(chat_id)
        if run is not None and run.task is not None:
            run.task.cancel()

    async def cancel(self, chat_id: str) -> Chat | None:
        """Cancel a run of this process and wait until it saved what it had; None when there is none."""
        run = self._runs.get(chat_id)
        if run is None or run.task is None:
            return None
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(run.task)
        return run.chat

    async def aclose(self) -> None:
        """At shutdown: cancel what still runs; each run records itself as canceled."""
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)

    async def _execute(self, run: Run) -> None:
        job, chat = run.job, run.chat
        _emit(run, "conversation.chat.created", {**chat_view(chat), "status": "created"})
        _emit(run, "conversation.chat.in_progress", chat_view(chat))
        answer = _Answer(job)
        try:
            knowledge = self._knowledge(job)
            turn = Turn(job=job, agent=await self._agent(job, knowledge), knowledge=knowledge)
            async for event in BOT_GRAPH.astream(turn):
                if isinstance(event, AnswerDelta):
                    _emit(run, "conversation.message.delta", answer.delta(event))
                elif isinstance(event, ToolCallsMade):
                    rows = [answer.extra("function_call", function_call_content(c)) for c in event.message.tool_calls]
                    await self._save(job, rows)
                    answer.reset()
                    for row in rows:
                        _emit(run, "conversation.message.completed", message_view(row))
                elif isinstance(event, ToolResult):
                    row = answer.extra("tool_output", event.output, {"tool_call_id": event.call.id})
                    await self._save(job, [row])
                    _emit(run, "conversation.message.completed", message_view(row))
                elif isinstance(event, Paused):
                    await self._pause(run, event)
                else:
                    await self._finish(run, answer.final(event), event.usage)
        except asyncio.CancelledError:
            await asyncio.shield(self._end(run, "canceled", answer.partial()))
        except Exception as exc:  # the chat fails visibly; the server keeps serving
            await asyncio.shield(self._end(run, "failed", answer.partial(), last_error=_failure(exc)))

    def _knowledge(self, job: ChatJob) -> BotKnowledge | None:
        if self._datasets is None:
            return None
        return BotKnowledge.of(job.config, job.chat.workspace_id, self._sessions, self._datasets)

    async def _agent(self, job: ChatJob, knowledge: BotKnowledge | None) -> ReactAgent:
        model_info = job.config.get("model_info") or {}
        options = {key: model_info[key] for key in MODEL_OPTIONS if model_info.get(key) is not None}
        tools = [
            ToolSpec(name=t["name"], description=t.get("description", ""), parameters=t.get("parameters") or {})
            for t in job.config.get("tools", [])
        ]
        known = {tool.name for tool in tools}
        tools += [tool for tool in job.client_tools if tool.name not in known]  # the request's own (OpenAI)
        own = [knowledge] if knowledge is not None and not knowledge.auto_call else []
        model = await self._models.get(job.chat.workspace_id, model_info["model_id"])
        return ReactAgent(model, tools=own, client_tools=tools, options=options)

    async def _save(self, job: ChatJob, rows: list[MessageRow], **chat_fields: Any) -> None:
        """Insert messages (when the chat saves its history) and set chat fields, in one transaction; a chat
        the request left unsaved is inserted here, as it stands, with its entered messages."""
        async with job.saving:
            unsaved, job.unsaved = job.unsaved, []
            if not (rows and job.auto_save) and not chat_fields and not unsaved:
                return
            async with UnitOfWork(self._sessions) as uow:
                if unsaved:
                    _apply(job.chat, **chat_fields)
                    uow.session.add_all(unsaved)
                elif chat_fields:
                    await uow.chats.settle(job.chat.workspace_id, job.chat.id, **chat_fields)
                if job.auto_save:
                    uow.session.add_all(rows)

    async def _pause(self, run: Run, paused: Paused) -> None:
        calls = [tool_call_view(call) for call in paused.calls]
        required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
        stored = {**required, "_custom_variables": run.job.custom_variables, "_saved": run.job.auto_save}
        usage = _usage(paused.usage)
        await self._save(run.job, [], status="requires_action", required_action=stored, usage=usage)
        _apply(run.chat, status="requires_action", required_action=required, usage=usage)
        _emit(run, "conversation.chat.requires_action", chat_view(run.chat))
        _emit(run, "done")

    async def _finish(self, run: Run, answer: MessageRow | None, usage: Usage) -> None:
        follow_ups = await self._follow_ups(run.job, answer) if answer is not None else []
        fields = {"status": "completed", "completed_at": now(), "usage": _usage(usage)}
        await self._save(run.job, [answer, *follow_ups] if answer else [], **fields)
        _apply(run.chat, **fields)
        if answer is not None:
            _emit(run, "conversation.message.completed", message_view(answer))
            verbose = _Answer(run.job).extra("verbose", VERBOSE_FINISH)
            _emit(run, "conversation.message.completed", message_view(verbose))
        for follow_up in follow_ups:
            _emit(run, "conversation.message.completed", message_view(follow_up))
        _emit(run, "conversation.chat.completed", chat_view(run.chat))
        _emit(run, "done")

    async def _follow_ups(self, job: ChatJob, answer: MessageRow) -> list[MessageRow]:
        """Questions the user might ask next, when the bot's suggest-reply mode says so (Coze's follow_up)."""
        suggest = job.config.get("suggest_reply") or {}
        mode = suggest.get("reply_mode", "disable")
        if mode == "disable":
            return []
        instruction = suggest.get("customized_prompt") if mode == "customized" else ""
        question = job.history[-1].text if job.history else ""
        prompt = [
            Message.system(instruction or SUGGEST_PROMPT),
            Message.user(f"Question: {question}\nAnswer: {answer.content}"),
        ]
        model = await self._models.get(job.chat.workspace_id, job.config["model_info"]["model_id"])
        reply = await model.generate(prompt)
        lines = [_BULLET.sub("", line).strip() for line in reply.text.splitlines()]
        return [_Answer(job).extra("follow_up", line) for line in lines if line][:MAX_FOLLOW_UPS]

    async def _end(
        self, run: Run, status: str, partial: MessageRow | None, *, last_error: dict[str, Any] | None = None
    ) -> None:
        """Record a run that stopped early; whatever answer it had streamed is saved with it."""
        stamp = now()
        fields: dict[str, Any] = {"status": status, "required_action": None}
        if status == "failed":
            fields |= {"failed_at": stamp, "last_error": last_error}
        await self._save(run.job, [partial] if partial else [], **fields)
        _apply(run.chat, **fields)
        if status == "failed":
            _emit(run, "conversation.chat.failed", chat_view(run.chat))
        if not run.log.closed:
            _emit(run, "done")


class _Answer:
    """The answer message being streamed, under one id from its first delta to its completion."""

    def __init__(self, job: ChatJob) -> None:
        self.job = job
        self.reset()

    def reset(self) -> None:
        self._id: str | None = None  # taken at the first delta, so the answer sorts after tool messages
        self._view: dict[str, Any] | None = None  # what every delta event of this answer repeats
        self.text: list[str] = []
        self.reasoning: list[str] = []

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = new_id()
        return self._id

    def delta(self, delta: AnswerDelta) -> dict[str, Any]:
        self.text.append(delta.text)
        self.reasoning.append(delta.reasoning)
        if self._view is None:
            self._view = message_view(self.extra("answer", "", message_id=self.id))
        return {**self._view, "content": delta.text, "reasoning_content": delta.reasoning}

    def final(self, answered: Answered) -> MessageRow | None:
        reply = answered.message
        if not reply.text and not reply.reasoning:
            return None
        row = self.extra("answer", reply.text, message_id=self.id)
        row.reasoning_content = reply.reasoning or None
        return row

    def partial(self) -> MessageRow | None:
        text = "".join(self.text)
        if not text:
            return None
        row = self.extra("answer", text, message_id=self.id)
        row.reasoning_content = "".join(self.reasoning) or None
        return row

    def extra(
        self, kind: str, content: str, meta: dict[str, str] | None = None, *, message_id: str | None = None
    ) -> MessageRow:
        return chat_message(
            self.job.chat, role="assistant", kind=kind, content=content, meta_data=meta, message_id=message_id
        )


def _failure(exc: Exception) -> dict[str, Any]:
    """A chat's ``last_error``: what went wrong, not where in the graph (the log has that)."""
    cause = exc.cause if isinstance(exc, GraphRunError) and isinstance(exc.cause, Exception) else exc
    code = getattr(cause, "code", None)
    return {"code": code if isinstance(code, int) else 5000, "msg": f"{type(cause).__name__}: {cause}"}


def _emit(run: Run, kind: EventKind, data: dict[str, Any] | None = None) -> None:
    run.log.append(ChatEvent(kind, data))


def _apply(chat: Chat, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(chat, name, value)


def _usage(usage: Usage) -> dict[str, int]:
    total = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
    return {"token_count": total, "output_count": usage.completion_tokens, "input_count": usage.prompt_tokens}
