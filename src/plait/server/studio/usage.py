"""``/api/studio/usage``: chats (calls) and tokens per agent and per UTC day, for the studio's usage chart."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from plait.platform import usage
from plait.server.deps import Uow
from plait.server.studio.auth import StudioCaller

router = APIRouter(prefix="/api/studio")


@router.get("/usage")
async def get_usage(
    uow: Uow, caller: StudioCaller, days: Annotated[int, Query(ge=1, le=usage.MAX_DAYS)] = 30
) -> dict[str, Any]:
    report = await usage.usage_by_day(uow, caller, days=days)
    agents = [{"id": agent_id, "name": name} for agent_id, name in report.agents.items()]
    return {"days": report.days, "agents": agents, "points": [asdict(point) for point in report.points]}
