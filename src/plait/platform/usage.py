"""A workspace's usage for the studio's chart: chats (calls) and tokens per agent and per UTC day, from the
usage every chat saves when it ends, summed by the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.errors import InvalidParams
from plait.platform.unit_of_work import UnitOfWork, now

MAX_DAYS = 366
DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class UsagePoint:
    """One agent on one day (``agent_id`` None: chats of no agent, such as a chatflow's)."""

    day: str  # YYYY-MM-DD, UTC
    agent_id: str | None
    calls: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReport:
    days: list[str]  # every day of the window, oldest first, so a chart has a slot for days without chats
    agents: dict[str, str]  # agent id -> its name, for those that still exist
    points: list[UsagePoint]


async def usage_by_day(uow: UnitOfWork, principal: Principal, *, days: int = 30) -> UsageReport:
    """The last ``days`` days, today included."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidParams(f"days: must be in 1..{MAX_DAYS}")
    today = dt.datetime.fromtimestamp(now(), dt.UTC).date()
    first = today - (days - 1) * DAY
    since = int(dt.datetime.combine(first, dt.time(), dt.UTC).timestamp())
    rows = await uow.chats.usage_by_day(principal.workspace_id, since)
    points = [
        UsagePoint(
            day=(dt.date(1970, 1, 1) + row.day * DAY).isoformat(),
            agent_id=row.bot_id,
            calls=row.chats,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
        )
        for row in rows
    ]
    names: dict[str, str] = {}
    for agent_id in dict.fromkeys(point.agent_id for point in points if point.agent_id):
        bot = await uow.bots.get(principal.workspace_id, agent_id)
        if bot is not None:
            names[agent_id] = bot.name
    return UsageReport(days=[(first + n * DAY).isoformat() for n in range(days)], agents=names, points=points)
