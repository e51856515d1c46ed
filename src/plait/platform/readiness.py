"""Whether this process can serve requests (``/ready``), as opposed to merely running (``/health``): the
database answers, and the model registry knows the default model's provider."""

from __future__ import annotations

import asyncio

from plait.models.registry import default_registry
from plait.platform.access import ADMIN_NAME
from plait.platform.services import Services

CHECK_SECONDS = 2.0


async def readiness(services: Services) -> dict[str, str]:
    """Each check's result: ``ok`` or why it failed."""
    return {"database": await _database(services), "models": _models(services)}


async def _database(services: Services) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS), services.unit_of_work() as uow:
            await uow.users.get_by_name(ADMIN_NAME)
    except TimeoutError:
        return f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _models(services: Services) -> str:
    try:
        providers = {model.partition("/")[0] for model in default_registry().known_models()}
    except Exception as exc:
        return f"the model registry failed ({type(exc).__name__})"
    provider = services.settings.default_model.partition("/")[0]
    return "ok" if provider in providers else f"no provider {provider!r} for the default model"
