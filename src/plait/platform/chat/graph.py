"""A bot's turn as a compose graph: ``context`` (knowledge found for the question, the persona with its
variables, the history that fits) then ``agent`` (the ReAct loop, streaming its events). The graph is compiled
once per process; what differs per bot and turn travels in its input, so a run costs no compile.

    async for event in BOT_GRAPH.astream(Turn(job=job, agent=agent, knowledge=knowledge)):
        ...  # the agent's events: AnswerDelta, ToolCallsMade, ToolResult, Answered or Paused

Running as a graph gives chats what every graph has: per-node callbacks (logging, metrics, tracing), errors
that name the node that failed, and cancellation that reaches the model call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from plait.agents import AgentEvent, ReactAgent
from plait.compose import END, START, CompiledGraph, Graph
from plait.platform.chat.checked_answer import AnswerCheck, SelfChecked, checked_run
from plait.platform.chat.guarded import GuardFlagged, guard_turn
from plait.platform.chat.jobs import ChatJob
from plait.platform.chat.recalled import KnowledgeRecalled
from plait.platform.chat_knowledge import BotKnowledge
from plait.platform.chat_prompt import fit, fitting_chunks, system_message
from plait.platform.memory.summaries import summary_message
from plait.schema import Document, Message

TurnEvent = AgentEvent | SelfChecked | GuardFlagged | KnowledgeRecalled


@dataclass(frozen=True, slots=True)
class Turn:
    job: ChatJob
    agent: ReactAgent
    knowledge: BotKnowledge | None
    check: AnswerCheck | None = None  # the bot's self-check (docs/agents.md)


@dataclass(frozen=True, slots=True)
class Prompted:
    agent: ReactAgent
    messages: list[Message]
    documents: list[Document] = field(default_factory=list)
    check: AnswerCheck | None = None
    flagged: GuardFlagged | None = None  # what the guards found, told before the answer
    recalled: KnowledgeRecalled | None = None  # the chunks in the prompt, told before the answer


async def build_context(turn: Turn) -> Prompted:
    """With ``auto_call`` the datasets are searched for the last question before the model sees it; the bot's
    guards screen and mask what the model will see; the section's summary follows the persona, and the rounds
    ``fit`` leaves out are noted for the next summary. The chunks the prompt holds are told to clients."""
    job, knowledge = turn.job, turn.knowledge
    documents: list[Document] = []
    if knowledge is not None and knowledge.auto_call and job.history:
        documents = await knowledge.search(job.history[-1].text)
    guarded = guard_turn(job.config.guard, job.history, documents)  # may raise InjectionBlocked: no model call
    documents = guarded.documents
    variables = job.user_variables | job.custom_variables
    system = system_message(job.config, variables, documents) + summary_message(job.recall.summary)
    messages = fit(system, guarded.history, job.config.model)
    job.recall.note_prompt(job.history, len(messages) - len(system))
    recalled = None
    if knowledge is not None and documents:
        recalled = KnowledgeRecalled(tuple(fitting_chunks(documents, knowledge.max_tokens)), knowledge.strategy)
    return Prompted(turn.agent, messages, documents, turn.check, guarded.flagged(), recalled)


async def run_agent(prompted: Prompted) -> AsyncIterator[TurnEvent]:
    """A bot with a self-check has its answer checked against the chunks found, when any were."""
    if prompted.flagged is not None:
        yield prompted.flagged
    if prompted.recalled is not None:
        yield prompted.recalled
    events: AsyncIterator[TurnEvent] = prompted.agent.run(prompted.messages)
    if prompted.check is not None and prompted.documents:
        events = checked_run(prompted.agent, prompted.messages, prompted.documents, prompted.check)
    async for event in events:
        yield event


def _compile() -> CompiledGraph[Turn, TurnEvent]:
    graph: Graph[Turn, TurnEvent] = Graph(input_type=Turn)
    graph.add_node("context", build_context).add_node("agent", run_agent)
    graph.add_edge(START, "context").add_edge("context", "agent").add_edge("agent", END)
    return graph.compile()


BOT_GRAPH = _compile()
