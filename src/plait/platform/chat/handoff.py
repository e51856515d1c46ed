"""Hands a router bot's turn to the bot that fits it: gathers what `plait.platform.routing` scores (the
request against each bot's description with the workspace's embedder, the router model's pick when asked,
each bot's recent outcomes from the chats table, this process's runs in progress) and returns the chosen
bot's published configuration with the decision as its trace.

Recent outcomes are read once per workspace and bot set every ``STATS_SECONDS`` in a process: a busy router
must not add a grouped query to every turn, and a few seconds' lag is nothing to a success rate.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plait.components import Embedder
from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.bots import BotRecord, published_bot
from plait.platform.chat.jobs import ChatJob
from plait.platform.errors import NotFound
from plait.platform.providers import WorkspaceModels
from plait.platform.routing import Decision, RoutingSettings, Signals, cosine, decide
from plait.schema import Message
from plait.store import Database

log = logging.getLogger(__name__)
STATS_SECONDS = 10.0
WINDOW_SECONDS = 3600  # the chats a bot's success rate and latency come from
CACHE_SIZE = 1024
PICK_PROMPT = (
    "You route a user's message to the assistant best suited to answer it. "
    "Reply with the number of one assistant and nothing else."
)
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Routed:
    bot_id: str
    config: BotConfig
    trace: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Live:
    success_rate: float
    latency_seconds: float


class Handoff:
    def __init__(self, database: Database, models: WorkspaceModels, embedder: Callable[[], Embedder]) -> None:
        self._database = database
        self._models = models
        self._embedder = embedder  # called when first needed: a server that never routes loads no model
        self._live: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, _Live]]] = {}
        self._descriptions: dict[str, list[float]] = {}

    async def route(self, job: ChatJob, running: Mapping[str, int]) -> Routed:
        """The bot that answers ``job``'s turn; ``running`` counts this process's runs in progress per bot."""
        routing = job.config.routing
        assert routing is not None, "only a router's turns are handed off"
        chat = job.chat
        reader = Principal(key_id="", user_id=chat.user_id or "", workspace_id=chat.workspace_id, role="viewer")
        records = await self._published(reader, routing.bot_ids)
        if not records:
            raise NotFound(f"none of router {chat.bot_id}'s bots is published any more")
        question = job.history[-1].text if job.history else ""
        similarity = await self._similarity(question, records)
        pick = await self._pick(job, routing, question, records)
        live = await self._recent(chat.workspace_id, tuple(r.bot.id for r in records))
        candidates = [
            Signals(
                bot_id=record.bot.id,
                similarity=similarity[index],
                model_pick=record.bot.id == pick,
                success_rate=live[record.bot.id].success_rate if record.bot.id in live else None,
                latency_seconds=live[record.bot.id].latency_seconds if record.bot.id in live else None,
                queue=running.get(record.bot.id, 0),
            )
            for index, record in enumerate(records)
        ]
        decision = decide(routing, candidates)
        chosen = next((r for r in records if r.bot.id == decision.bot_id), None)
        if chosen is None:  # the fallback, read only when it is needed
            chosen = next(iter(await self._published(reader, [decision.bot_id])), None)
        if chosen is None:
            best = decision.scores[0].bot_id
            log.warning("router %s: fallback bot %s is not published; %s answers", chat.bot_id, decision.bot_id, best)
            chosen = next(r for r in records if r.bot.id == best)
        return Routed(bot_id=chosen.bot.id, config=chosen.config, trace=_trace(chat.bot_id, decision, pick, routing))

    async def _published(self, reader: Principal, bot_ids: Sequence[str]) -> list[BotRecord]:
        """The bots' published versions (through the chats' cache); a bot deleted or unpublished since the
        router was set is left out."""
        records = []
        async with self._database.unit_of_work() as uow:
            for bot_id in bot_ids:
                try:
                    records.append(await published_bot(uow, reader, bot_id))
                except NotFound:
                    log.warning("router's bot %s is not published any more; routing without it", bot_id)
        return records

    async def _similarity(self, question: str, records: Sequence[BotRecord]) -> list[float]:
        """The question against each bot's description (its name when it has none); descriptions are embedded
        once per process and text."""
        embedder = self._embedder()
        texts = [record.config.description.strip() or record.name for record in records]
        missing = [text for text in dict.fromkeys(texts) if text not in self._descriptions]
        vectors = await embedder.embed([question or " ", *missing])
        if len(self._descriptions) + len(missing) > CACHE_SIZE:
            self._descriptions.clear()
        self._descriptions.update(zip(missing, vectors[1:], strict=True))
        return [cosine(vectors[0], self._descriptions[text]) for text in texts]

    async def _pick(
        self, job: ChatJob, routing: RoutingSettings, question: str, records: Sequence[BotRecord]
    ) -> str | None:
        """The bot the router's model names, when the router asks it; a model that fails or answers with no
        listed number picks none (the descriptions still route)."""
        model_id = job.config.model.model_id
        if not routing.use_model or not model_id:
            return None
        listing = "\n".join(
            f"{index}. {record.name}: {record.config.description}" for index, record in enumerate(records, 1)
        )
        prompt = [Message.system(PICK_PROMPT), Message.user(f"Assistants:\n{listing}\n\nMessage: {question}")]
        try:
            model = await self._models.get(job.chat.workspace_id, model_id)
            reply = (await model.generate(prompt)).text
        except Exception:
            log.warning("router %s: its model could not pick a bot", job.chat.bot_id, exc_info=True)
            return None
        found = _NUMBER.search(reply)
        number = int(found.group()) if found else 0
        return records[number - 1].bot.id if 1 <= number <= len(records) else None

    async def _recent(self, workspace_id: str, bot_ids: tuple[str, ...]) -> dict[str, _Live]:
        key = (workspace_id, bot_ids)
        hit = self._live.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        async with self._database.unit_of_work() as uow:
            rows = await uow.chats.outcomes(workspace_id, list(bot_ids), int(time.time()) - WINDOW_SECONDS)
        live: dict[str, _Live] = {}
        for bot_id in bot_ids:
            mine = {row.status: row for row in rows if row.bot_id == bot_id}
            done, failed = mine.get("completed"), mine.get("failed")
            total = (done.count if done else 0) + (failed.count if failed else 0)
            if total:
                live[bot_id] = _Live(
                    success_rate=(done.count if done else 0) / total,
                    latency_seconds=done.mean_seconds if done else 0.0,
                )
        if len(self._live) >= CACHE_SIZE:
            self._live.clear()
        self._live[key] = (time.monotonic() + STATS_SECONDS, live)
        return live


def _trace(router_id: str | None, decision: Decision, pick: str | None, routing: RoutingSettings) -> dict[str, Any]:
    return {"router_bot_id": router_id} | decision.to_json() | ({"model_pick": pick} if routing.use_model else {})
