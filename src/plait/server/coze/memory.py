"""Memory endpoints: Coze's ``GET``/``PUT /v1/variables`` (a user's long-term variables of a bot) and Plait's
``GET /v1/sessions`` (users' sessions with a bot)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from plait.platform.memory import variables
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import ok

router = APIRouter(dependencies=[require_scope("chat")])


class VariableItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    keyword: str = Field(min_length=1, max_length=64)
    value: str


class UpdateVariablesRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bot_id: str | None = None
    app_id: str | None = None
    connector_id: str | None = None  # accepted for Coze's shape; values are kept per bot and connector_uid
    connector_uid: str = ""
    data: list[VariableItem] = Field(default_factory=list)


@router.get("/v1/variables")
async def get_variables(
    uow: Uow,
    caller: Caller,
    connector_uid: Annotated[str, Query()] = "",
    keywords: Annotated[str, Query()] = "",
    bot_id: Annotated[str | None, Query()] = None,
    app_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    values = await variables.get_variables(
        uow,
        caller,
        bot_id=bot_id,
        app_id=app_id,
        connector_uid=connector_uid,
        keywords=[k.strip() for k in keywords.split(",") if k.strip()],
    )
    items = [
        {"keyword": v.keyword, "value": v.value, "create_time": v.created_at, "update_time": v.updated_at}
        for v in values
    ]
    return ok({"items": items})


@router.put("/v1/variables")
async def update_variables(body: UpdateVariablesRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    await variables.set_variables(
        uow,
        caller,
        bot_id=body.bot_id,
        app_id=body.app_id,
        connector_uid=body.connector_uid,
        values=[(item.keyword, item.value) for item in body.data],
    )
    return ok({})


@router.get("/v1/sessions")
async def list_sessions(
    bot_id: str, uow: Uow, caller: Caller, services: Services, user_id: str | None = None
) -> dict[str, Any]:
    sessions = await services.sessions.of(uow, caller, bot_id, user_id)
    return ok(
        {
            "items": [
                {
                    "id": s.id,
                    "bot_id": s.bot_id,
                    "user_id": s.user_id,
                    "status": s.status,
                    "chat_count": s.chat_count,
                    "last_conversation_id": s.last_conversation_id,
                    "started_at": s.started_at,
                    "last_active_at": s.last_active_at,
                    "expires_at": s.expires_at,
                }
                for s in sessions
            ]
        }
    )
