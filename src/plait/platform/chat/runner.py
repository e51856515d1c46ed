"""Runs chats: each a task that drives the bot's ReAct agent, saves messages as they complete and publishes
its events to the run's log, which any number of streams follow.

A run outlives the request that started it (a non-streamed chat answers ``in_progress`` and goes on); a
streamed chat's client that disconnects cancels it, and what was produced is kept with status ``canceled``.
Every run ends its log, and every status change is a conditional update of a chat still ``in_progress``: a
cancel from another worker, or the sweep of a worker presumed dead, stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from plait.agents import AnswerDelta, Answered, Paused, ReactAgent, ToolCallsMade, ToolResult
from plait.components import Embedder
from plait.components.tool import Tool
from plait.observability import context
from plait.observability.calls import ObservedTool
from plait.observability.metrics import CHATS
from plait.platform.chat.checked_answer import AnswerCheck, SelfChecked
from plait.platform.chat.events import (
    ChatCompleted,
    ChatCreated,
    ChatFailed,
    ChatInProgress,
    ChatRequiresAction,
    EventLog,
    MessageCompleted,
    MessageDelta,
)
from plait.platform.chat.failures import chat_error
from plait.platform.chat.graph import BOT_GRAPH, Turn
from plait.platform.chat.guarded import GuardFlagged
from plait.platform.chat.handoff import Handoff
from plait.platform.chat.jobs import ChatJob, chat_message
from plait.platform.chat.recalled import KnowledgeRecalled
from plait.platform.chat.records import ChatState, ChatUsage, MessageRecord, PendingToolCalls
from plait.platform.chat.relay import RunBus
from plait.platform.chat.trace import (
    GUARD_MSG_TYPE,
    KNOWLEDGE_RECALL_MSG_TYPE,
    ROUTING_META,
    ROUTING_MSG_TYPE,
    SELF_CHECK_MSG_TYPE,
    as_json,
    verbose_content,
)
from plait.platform.chat_knowledge import BotKnowledge
from plait.platform.chat_prompt import function_call_content
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.memory.sessions import Sessions
from plait.platform.memory.summaries import fold
from plait.platform.memory.tools import memory_tools
from plait.platform.plugin_tools import PluginTools
from plait.platform.providers import WorkspaceModels
from plait.platform.workflows.tools import BotWorkflows
from plait.schema import Message, Usage
from plait.store import Database, TransientError, new_id
from plait.store.base import Base, now
from plait.store.group_commit import Save
from plait.store.repositories.conversations import settle_chat
from plait.store.tables import Chat
from plait.store.tables import Message as MessageRow

log = logging.getLogger(__name__)
SUGGEST_PROMPT = (
    "Suggest up to three short questions the user could ask next about this exchange, one per line, "
    "in the user's language, without numbering or any other text."
)
MAX_FOLLOW_UPS = 3
SAVE_ATTEMPTS = 3
SAVE_RETRY_SECONDS = 0.05  # the first wait; each next one doubles
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

    @property
    def state(self) -> ChatState:
        """The chat as it stands now (this process runs it: fresher than its last save)."""
        return ChatState.of(self.job.chat)


class ChatRunner:
    def __init__(
        self,
        database: Database,
        *,
        models: WorkspaceModels,
        datasets: DatasetIndexes | None = None,
        instance: str = "",
        timeout_seconds: float = 600.0,
        embedder: str | None = None,
        plugins: PluginTools | None = None,
        sessions: Sessions | None = None,
        workflows: BotWorkflows | None = None,
        bus: RunBus | None = None,
    ) -> None:
        self._database = database
        self.bus = bus  # None: one process; Redis: every process follows and cancels every run (relay.py)
        self._workflows = workflows  # the published workflows bots list as tools
        self._sessions = sessions
        self._datasets = datasets
        self._plugins = plugins  # the tools of the plugins bots name
        self._models = models
        self.instance = instance  # the worker instance stamped on the chats this runner runs
        self._timeout = timeout_seconds
        self._embedder_id = embedder  # the workspace embedder: routing and self-check compare texts with it
        self._handoff = Handoff(database, models, self._embedder)
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
        run.task.add_done_callback(lambda _: run.log.close())  # even a run whose last save failed ends its log
        if self.bus is not None:
            self.bus.forward(chat_id, run.log)
        return run

    async def insert(self, rows: list[Base]) -> None:
        """Insert a chat's first rows (and its new conversation's) with the group commit, before its run starts:
        many chats starting at once share a transaction."""
        await self._database.writer.save(Save(rows=rows))

    def _save_soon(self, job: ChatJob) -> None:
        self._in_background(self._save(job, []))

    def get(self, chat_id: str) -> Run | None:
        return self._runs.get(chat_id)

    def stop(self, chat_id: str) -> None:
        """Cancel without waiting: what a stream does when its client is gone (it may not await any more)."""
        run = self._runs.get(chat_id)
        if run is not None and run.task is not None:
            run.task.cancel()

    async def cancel(self, chat_id: str) -> ChatState | None:
        """Cancel a run of this process and wait until it saved what it had; None when there is none."""
        run = self._runs.get(chat_id)
        if run is None or run.task is None:
            return None
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(run.task)
        return run.state

    async def cancel_elsewhere(self, instance: str | None, chat_id: str) -> None:
        """After a chat of another process was marked canceled: stop its run there now, when a bus reaches it
        (else that process's `reconcile` does, within a heartbeat)."""
        if self.bus is not None and instance and instance != self.instance:
            await self.bus.cancel(instance, chat_id)

    async def reconcile(self) -> None:
        """Stop the runs of this process whose chat another worker ended (a cancel it received, or a sweep): the
        database holds the chat's status, and the run, its stream included, follows it within a heartbeat."""
        running = [chat_id for chat_id, run in self._runs.items() if not run.job.unsaved]
        if not running:
            return
        async with self._database.unit_of_work() as uow:
            ended = await uow.chats.ended_among(running)
        for chat_id in ended:
            log.info("chat %s was ended by another worker; stopping its run", chat_id)
            self.stop(chat_id)

    async def aclose(self) -> None:
        """At shutdown: cancel what still runs; each run records itself as canceled."""
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.settled()  # after the runs: each ends by starting its memory update

    async def _execute(self, run: Run) -> None:
        job, chat = run.job, run.chat
        context.RUN.set(chat.id)  # the run's own task: its logs and spans name the chat
        context.WORKSPACE.set(chat.workspace_id)
        state = ChatState.of(chat)
        run.log.append(ChatCreated(replace(state, status="created")))
        run.log.append(ChatInProgress(state))
        answer = _Answer(job)
        try:
            async with asyncio.timeout(self._timeout):
                await self._turn(run, answer)
        except asyncio.CancelledError:
            await asyncio.shield(self._end(run, "canceled", answer.partial()))
        except Exception as exc:  # the chat fails visibly; the server keeps serving
            log.error("chat %s failed", chat.id, exc_info=exc)
            error = chat_error(exc, chat.id).to_json()
            # No half answer: the history would hand it to the next turn as what the bot said (a canceled
            # chat keeps its partial answer, the part its user chose to stop at).
            await asyncio.shield(self._end(run, "failed", None, last_error=error))
        CHATS.labels(job.config.model.model_id, chat.workspace_id, chat.status).inc()
        self._in_background(self._remember(job))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _remember(self, job: ChatJob) -> None:
        """After the turn, off its path: count it into the user's session, and fold the rounds its prompt left
        out into the section's summary. A failure here is logged; the chat has its answer."""
        chat = job.chat
        try:
            if self._sessions is not None and chat.bot_id and chat.user_id:
                await self._sessions.chatted(chat.workspace_id, chat.bot_id, chat.user_id, chat.conversation_id)
            if chat.status == "completed" and chat.section_id and job.recall.cut is not None:
                model = await self._models.get(chat.workspace_id, job.config.model.model_id)
                await fold(
                    self._database,
                    model,
                    workspace_id=chat.workspace_id,
                    conversation_id=chat.conversation_id,
                    section_id=chat.section_id,
                    recall=job.recall,
                )
        except Exception:
            log.exception("chat %s: could not update its memory", chat.id)

    async def settled(self) -> None:
        """Wait for the work that follows runs (saves, memory): for tests and shutdown."""
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _turn(self, run: Run, answer: _Answer) -> None:
        job = run.job
        if job.config.routing is not None:
            await self._hand_off(run)
        knowledge = self._knowledge(job)
        turn = Turn(job=job, agent=await self._agent(job, knowledge), knowledge=knowledge, check=self._check(job))
        checked: SelfChecked | None = None
        async for event in BOT_GRAPH.astream(turn, run_id=job.chat.id):
            if isinstance(event, AnswerDelta):
                run.log.append(answer.delta(event))
            elif isinstance(event, ToolCallsMade):
                rows = [answer.extra("function_call", function_call_content(c)) for c in event.message.tool_calls]
                await self._save(job, rows)
                answer.reset()
                for row in rows:
                    run.log.append(MessageCompleted(MessageRecord.of(row)))
            elif isinstance(event, ToolResult):
                row = answer.extra("tool_output", event.output, {"tool_call_id": event.call.id})
                await self._save(job, [row])
                run.log.append(MessageCompleted(MessageRecord.of(row)))
                if knowledge is not None and event.call.name == knowledge.spec.name:
                    given = knowledge.take_given()  # the chunks the model searched for itself
                    if given is not None:
                        await self._trace(run, answer, KNOWLEDGE_RECALL_MSG_TYPE, given.to_json())
            elif isinstance(event, SelfChecked):
                checked = event
            elif isinstance(event, GuardFlagged | KnowledgeRecalled):
                msg_type = GUARD_MSG_TYPE if isinstance(event, GuardFlagged) else KNOWLEDGE_RECALL_MSG_TYPE
                await self._trace(run, answer, msg_type, event.to_json())
            elif isinstance(event, Paused):
                await self._pause(run, event)
            else:
                await self._finish(run, answer.final(event), event.usage, checked)

    async def _trace(self, run: Run, answer: _Answer, msg_type: str, data: dict[str, Any]) -> None:
        """A verbose message (trace.py), saved and streamed as soon as the turn knows it."""
        row = answer.extra("verbose", verbose_content(msg_type, data))
        await self._save(run.job, [row])
        run.log.append(MessageCompleted(MessageRecord.of(row)))

    async def _hand_off(self, run: Run) -> None:
        """A router's turn runs with the bot it picks (that bot's config, history and conversation unchanged);
        the chat, and the messages it makes from here, name that bot. The decision is a verbose message and
        the chat's ``meta_data["plait_routing"]``."""
        job = run.job
        running = Counter(r.job.chat.bot_id or "" for r in self._runs.values() if r is not run)
        routed = await self._handoff.route(job, running)
        trace = _Answer(job).extra("verbose", verbose_content(ROUTING_MSG_TYPE, routed.trace))
        fields: dict[str, Any] = {
            "bot_id": routed.bot_id,
            "meta_data": {**job.chat.meta_data, ROUTING_META: as_json(routed.trace)},
        }
        await self._save(job, [trace], **fields)
        _apply(job.chat, **fields)
        job.config = routed.config
        run.log.append(MessageCompleted(MessageRecord.of(trace)))

    def _check(self, job: ChatJob) -> AnswerCheck | None:
        """The self-check of a bot that has one and searches its datasets before it answers."""
        settings = job.config.self_check
        if settings is None or not job.config.knowledge.dataset_ids or not job.config.knowledge.auto_call:
            return None
        return AnswerCheck(settings=settings, embedder=self._embedder())

    def _embedder(self) -> Embedder:
        if self._datasets is None or self._embedder_id is None:
            raise RuntimeError("routing and self-check need the runner's datasets and embedder")
        return self._datasets.embedder(self._embedder_id)

    def _knowledge(self, job: ChatJob) -> BotKnowledge | None:
        if self._datasets is None:
            return None
        return BotKnowledge.of(job.config, job.chat.workspace_id, self._database, self._datasets)

    async def _agent(self, job: ChatJob, knowledge: BotKnowledge | None) -> ReactAgent:
        tools = list(job.config.tools)
        known = {tool.name for tool in tools}
        tools += [tool for tool in job.client_tools if tool.name not in known]  # the request's own (OpenAI)
        own: list[Tool] = [knowledge] if knowledge is not None and not knowledge.auto_call else []
        chat = job.chat
        if chat.bot_id and chat.user_id:
            own += memory_tools(
                job.config, self._database, workspace_id=chat.workspace_id, bot_id=chat.bot_id, user_id=chat.user_id
            )
        model = await self._models.get(job.chat.workspace_id, job.config.model.model_id)
        own += await self._plugin_tools(job, taken={*(tool.spec.name for tool in own), *(tool.name for tool in tools)})
        if self._workflows is not None and job.config.workflow_ids:
            taken = {*(tool.spec.name for tool in own), *(tool.name for tool in tools)}
            own += await self._workflows.for_bot(chat.workspace_id, job.config.workflow_ids, taken=taken)
        approve = set(job.config.approve_before) & {tool.spec.name for tool in own}  # a tool may be gone since
        return ReactAgent(
            model,
            tools=[ObservedTool(tool) for tool in own],
            client_tools=tools,
            options=job.config.model.options(),
            approve_before=approve,
        )

    async def _plugin_tools(self, job: ChatJob, *, taken: set[str]) -> list[Any]:
        if self._plugins is None or not job.config.plugins:
            return []
        return list(await self._plugins.for_bot(job.chat.workspace_id, job.config.plugins, taken=taken))

    async def _save(
        self, job: ChatJob, rows: list[MessageRow], *, if_running: bool = False, **chat_fields: Any
    ) -> None:
        """Insert messages (when the chat saves its history) and move the chat on, all or nothing, with the
        process's group commit (store/group_commit.py); a chat the request left unsaved is inserted here, as it
        stands, with its entered messages. ``if_running``: only while the chat still runs (how a run that
        stopped early records itself: a chat another worker ended, or one whose last save already committed,
        stays as it is). A database error (a lock held too long, a dropped connection) is tried again, after
        50 ms then 100 ms: a lost save loses the answer. (A plain loop: tenacity's retrying object cost a few
        percent of a turn's CPU.)"""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                await self._save_once(job, rows, if_running=if_running, **chat_fields)
                return
            except TransientError:
                if attempt == SAVE_ATTEMPTS:
                    raise
                await asyncio.sleep(min(SAVE_RETRY_SECONDS * 2 ** (attempt - 1), 1.0))

    async def _save_once(self, job: ChatJob, rows: list[MessageRow], *, if_running: bool, **chat_fields: Any) -> None:
        async with job.saving:
            unsaved = job.unsaved
            new_rows = [*unsaved, *(rows if job.auto_save else [])]
            if not new_rows and not chat_fields:
                return
            save = Save(new_rows)
            if unsaved:  # inserted as it stands now
                _apply(job.chat, **chat_fields)
            elif chat_fields:  # the chat's row is in: move it on
                update, params = settle_chat(job.chat.workspace_id, job.chat.id, **chat_fields)
                save = Save(new_rows, update, params, rows_if_updated=if_running)
            await self._database.writer.save(save)
            job.unsaved = []

    async def _pause(self, run: Run, paused: Paused) -> None:
        pending = PendingToolCalls(
            calls=tuple(paused.calls),
            custom_variables=run.job.custom_variables,
            history_saved=run.job.auto_save,
            approvals=tuple(call.id for call in paused.approvals),
        )
        fields: dict[str, Any] = {
            "status": "requires_action",
            "required_action": pending.to_json(),
            "usage": _usage(paused.usage),
        }
        await self._save(run.job, [], **fields)
        _apply(run.chat, **fields)
        run.log.append(ChatRequiresAction(run.state))
        run.log.close()

    async def _finish(
        self, run: Run, answer: MessageRow | None, usage: Usage, checked: SelfChecked | None = None
    ) -> None:
        follow_ups = await self._follow_ups(run.job, answer) if answer is not None else []
        verdict = _verdict(run.job, answer, checked)
        fields: dict[str, Any] = {"status": "completed", "completed_at": now(), "usage": _usage(usage)}
        await self._save(run.job, [answer, *verdict, *follow_ups] if answer else [], **fields)
        _apply(run.chat, **fields)
        if answer is not None:
            run.log.append(MessageCompleted(MessageRecord.of(answer)))
            for row in verdict:
                run.log.append(MessageCompleted(MessageRecord.of(row)))
            verbose = _Answer(run.job).extra("verbose", VERBOSE_FINISH)
            run.log.append(MessageCompleted(MessageRecord.of(verbose)))
        for follow_up in follow_ups:
            run.log.append(MessageCompleted(MessageRecord.of(follow_up)))
        run.log.append(ChatCompleted(run.state))
        run.log.close()

    async def _follow_ups(self, job: ChatJob, answer: MessageRow) -> list[MessageRow]:
        """Questions the user might ask next, when the bot's suggest-reply mode says so (Coze's follow_up)."""
        suggest = job.config.suggest_reply
        if suggest.mode == "disable":
            return []
        instruction = suggest.prompt if suggest.mode == "customized" else ""
        question = job.history[-1].text if job.history else ""
        prompt = [
            Message.system(instruction or SUGGEST_PROMPT),
            Message.user(f"Question: {question}\nAnswer: {answer.content}"),
        ]
        model = await self._models.get(job.chat.workspace_id, job.config.model.model_id)
        reply = await model.generate(prompt)
        lines = [_BULLET.sub("", line).strip() for line in reply.text.splitlines()]
        return [_Answer(job).extra("follow_up", line) for line in lines if line][:MAX_FOLLOW_UPS]

    async def _end(
        self, run: Run, status: str, partial: MessageRow | None, *, last_error: dict[str, Any] | None = None
    ) -> None:
        """Record a run that stopped early, with ``partial``, the answer it streamed, if any. The client learns
        how the run ended even when the database would not take it (the log has why)."""
        fields: dict[str, Any] = {"status": status, "required_action": None}
        if status == "failed":
            fields |= {"failed_at": now(), "last_error": last_error}
        try:
            await self._save(run.job, [partial] if partial else [], if_running=True, **fields)
        except Exception:
            log.exception("chat %s: could not save that it %s", run.chat.id, status)
        _apply(run.chat, **fields)
        if status == "failed":
            run.log.append(ChatFailed(run.state))
        run.log.close()


class _Answer:
    """The answer message being streamed, under one id from its first delta to its completion."""

    def __init__(self, job: ChatJob) -> None:
        self.job = job
        self.reset()

    def reset(self) -> None:
        self._id: str | None = None  # taken at the first delta, so the answer sorts after tool messages
        self._record: MessageRecord | None = None  # what every delta event of this answer carries
        self.text: list[str] = []
        self.reasoning: list[str] = []

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = new_id()
        return self._id

    def delta(self, delta: AnswerDelta) -> MessageDelta:
        self.text.append(delta.text)
        self.reasoning.append(delta.reasoning)
        if self._record is None:
            self._record = MessageRecord.of(self.extra("answer", "", message_id=self.id))
        return MessageDelta(self._record, delta.text, delta.reasoning)

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


def _verdict(job: ChatJob, answer: MessageRow | None, checked: SelfChecked | None) -> list[MessageRow]:
    """A checked answer carries the verdict in its meta_data; the check itself follows as a verbose message."""
    if answer is None or checked is None:
        return []
    answer.meta_data = {**answer.meta_data, **checked.meta()}
    return [_Answer(job).extra("verbose", verbose_content(SELF_CHECK_MSG_TYPE, checked.to_json()))]


def _apply(chat: Chat, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(chat, name, value)


def _usage(usage: Usage) -> dict[str, int]:
    return ChatUsage.of(usage).to_json()
