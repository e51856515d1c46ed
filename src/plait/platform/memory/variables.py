"""Users' long-term variables: a bot's declared ``{{keyword}}`` variables, with a value per user of a
connector (Coze's ``connector_uid``) kept across conversations. A chat's persona takes, for each keyword, the
chat's ``custom_variables`` first, then the user's stored value, then the variable's default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.bots import get_bot
from plait.platform.errors import InvalidParams
from plait.store import UnitOfWork

MAX_VALUE_CHARS = 2000  # a value goes into every prompt of the user: it must stay small
MAX_UID_CHARS = 255
MAX_WRITES = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableValue:
    keyword: str
    value: str
    created_at: int = 0  # 0: the bot's default, never stored for this user
    updated_at: int = 0


def declared(config: BotConfig) -> dict[str, str]:
    """The keywords a bot lets users keep, with their defaults: its enabled variables."""
    return {v.keyword: v.default_value for v in config.variables if v.enabled}


def check_value(keywords: Mapping[str, str], keyword: str, value: str, where: str) -> None:
    """Only declared keywords, with values that fit in a prompt; ``where`` names the field for the message."""
    if keyword not in keywords:
        known = ", ".join(sorted(keywords)) or "none"
        raise InvalidParams(f"{where}.keyword: {keyword!r} is not a variable of this bot (its variables: {known})")
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidParams(f"{where}.value: {len(value)} characters; at most {MAX_VALUE_CHARS}")


def _check_uid(connector_uid: str) -> str:
    uid = connector_uid.strip()
    if not uid:
        raise InvalidParams("connector_uid: required: the user whose variables these are")
    if len(uid) > MAX_UID_CHARS:
        raise InvalidParams(f"connector_uid: at most {MAX_UID_CHARS} characters")
    return uid


def _bot_id(bot_id: str | None, app_id: str | None) -> str:
    if app_id and not bot_id:
        raise InvalidParams("app_id: apps are not supported; name the bot with bot_id")
    if not bot_id:
        raise InvalidParams("bot_id: required")
    return bot_id


async def get_variables(
    uow: UnitOfWork,
    principal: Principal,
    *,
    bot_id: str | None,
    app_id: str | None,
    connector_uid: str,
    keywords: Sequence[str],
) -> list[VariableValue]:
    """The user's values of ``keywords`` (all the bot's variables when empty); a keyword the user never set
    reads as the bot's default."""
    bot_id = _bot_id(bot_id, app_id)
    uid = _check_uid(connector_uid)
    defaults = declared((await get_bot(uow, principal, bot_id, published=False)).config)
    for index, keyword in enumerate(keywords):
        check_value(defaults, keyword, "", f"keywords[{index}]")
    wanted = list(dict.fromkeys(keywords)) or sorted(defaults)
    stored = {row.keyword: row for row in await uow.user_variables.values(principal.workspace_id, bot_id, uid, wanted)}
    return [
        VariableValue(keyword=k, value=s.value, created_at=s.created_at, updated_at=s.updated_at)
        if (s := stored.get(k)) is not None
        else VariableValue(keyword=k, value=defaults[k])
        for k in wanted
    ]


async def set_variables(
    uow: UnitOfWork,
    principal: Principal,
    *,
    bot_id: str | None,
    app_id: str | None,
    connector_uid: str,
    values: Sequence[tuple[str, str]],
) -> None:
    """Store the user's values; all are checked before any is written."""
    principal.require_writer()
    bot_id = _bot_id(bot_id, app_id)
    uid = _check_uid(connector_uid)
    if not values:
        raise InvalidParams("data: at least one variable to set")
    if len(values) > MAX_WRITES:
        raise InvalidParams(f"data: at most {MAX_WRITES} variables at once")
    defaults = declared((await get_bot(uow, principal, bot_id, published=False)).config)
    seen: set[str] = set()
    for index, (keyword, value) in enumerate(values):
        check_value(defaults, keyword, value, f"data[{index}]")
        if keyword in seen:
            raise InvalidParams(f"data[{index}].keyword: {keyword!r} is given twice")
        seen.add(keyword)
    await uow.user_variables.put(principal.workspace_id, bot_id, uid, dict(values))


async def user_values(
    uow: UnitOfWork, workspace_id: str, bot_id: str, config: BotConfig, user_id: str
) -> dict[str, str]:
    """What a chat's persona takes from the user's memory: one query, and none for a bot without variables."""
    if not declared(config):
        return {}
    rows = await uow.user_variables.values(workspace_id, bot_id, user_id)
    return {row.keyword: row.value for row in rows}
