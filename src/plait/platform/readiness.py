"""Whether this process can serve requests (``/ready``), as opposed to merely running (``/health``): the
database answers, the model registry knows the default model's provider, and Redis answers when configured."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from plait.models.registry import default_registry
from plait.platform.access import ADMIN_NAME
from plait.platform.services import Services

CHECK_SECONDS = 2.0


async def readiness(services: Services) -> dict[str, str]:
    """Each check's result: ``ok`` or why it failed."""
    checks = {"database": await _answers(lambda: _admin(services)), "models": _models(services)}
    if services.redis is not None:
        checks["redis"] = await _answers(services.redis.hub.ping)
    return checks


async def _answers(probe: Callable[[], Awaitable[object]]) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await probe()
    except TimeoutError:
        return f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def _admin(services: Services) -> None:
    async with services.unit_of_work() as uow:
        await uow.users.get_by_name(ADMIN_NAME)


def _models(services: Services) -> str:
    try:
        providers = {model.partition("/")[0] for model in default_registry().known_models()}
    except Exception as exc:
        return f"the model registry failed ({type(exc).__name__})"
    provider = services.settings.default_model.partition("/")[0]
    return "ok" if provider in providers else f"no provider {provider!r} for the default model"
