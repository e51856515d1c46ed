"""Request dependencies as ``Annotated`` aliases: the request's unit of work and the caller's principal, and
``require_scope``, the router-level check of what the caller's key may reach."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plait.guard.limits import InProcessRateLimiter, Rate, RateLimiter, retry_after
from plait.observability.context import WORKSPACE
from plait.platform import Principal, Unauthorized, access
from plait.platform.errors import DatabaseBusy, RateLimited
from plait.platform.services import Services as ServicesType
from plait.platform.unit_of_work import UnitOfWork, now


async def _services(request: Request) -> ServicesType:
    """Async, though it awaits nothing: FastAPI runs a plain function dependency in a worker thread."""
    services: ServicesType = request.app.state.services
    return services


Services = Annotated[ServicesType, Depends(_services)]


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """One transaction per request: committed when the handler returns, rolled back when it raises.

    This and ``_principal`` take the services from the request, not from ``Services``: FastAPI walks a
    dependency's whole subtree on every use before it looks in its cache, so a chat request solved 15
    dependencies where it now solves 10."""
    services: ServicesType = request.app.state.services
    async with services.unit_of_work() as uow:
        yield uow


# scope="function": commit before the response is sent, so a failed commit is the client's error, not a lie.
Uow = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]

log = logging.getLogger(__name__)
# auto_error=False: a missing token is our 4100 envelope, not FastAPI's; the scheme also puts "Authorize" in /docs.
_bearer = HTTPBearer(auto_error=False, description="An API key from `plait keys create`.")
_usage = access.UsageThrottle()
_background: set[asyncio.Task[None]] = set()  # usage writes in flight (the loop keeps only weak references)


async def _principal(
    request: Request, uow: Uow, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    services: ServicesType = request.app.state.services
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    principal = await services.principals.authenticate(uow, token)
    WORKSPACE.set(principal.workspace_id)  # the request's logs name it
    limiter = rate_limiter(request, services)
    if wait := await limiter.acquire(principal.key_id, principal.workspace_id, time.monotonic()):
        raise RateLimited(f"too many requests for this API key or workspace: retry in {wait:.1f} s", retry_after(wait))
    at = now()
    if _usage.claim(principal.key_id, at):
        # Its own short transaction, in the background: a write in the request's would hold SQLite's one write
        # lock (or the key's row lock on PostgreSQL) as long as the request runs, and waiting for a second
        # connection while holding one could starve a small pool.
        task = asyncio.create_task(_record_use(services, principal.key_id, at))
        _background.add(task)
        task.add_done_callback(_background.discard)
    return principal


def rate_limiter(request: Request, services: ServicesType) -> RateLimiter:
    """The app's limiter, ``app.state.rate_limiter`` (an app may set its own), else one made on the first request
    from the settings: on Redis when it is configured (one budget for all the processes), else in process."""
    state = request.app.state
    try:
        limiter: RateLimiter = state.rate_limiter
    except AttributeError:
        settings = services.settings
        per_key = Rate(settings.rate_limit_key_per_second, settings.rate_limit_key_burst)
        per_workspace = Rate(settings.rate_limit_workspace_per_second, settings.rate_limit_workspace_burst)
        limiter = state.rate_limiter = (
            services.redis.rate_limiter(per_key, per_workspace)
            if services.redis is not None
            else InProcessRateLimiter(per_key, per_workspace)
        )
    return limiter


async def _record_use(services: ServicesType, key_id: str, at: int) -> None:
    try:
        async with services.unit_of_work() as uow:
            await access.record_use(uow, key_id, at)
    except DatabaseBusy:  # a key's last use is not worth a connection the requests are waiting for
        log.info("a key's last use was not recorded: no database connection came free")


Caller = Annotated[Principal, Depends(_principal)]


def require_scope(scope: str) -> params.Depends:
    """A dependency for a whole router, ``APIRouter(dependencies=[require_scope("bots")])``: a key without the
    scope gets 403 / 4101 naming it. The principal is resolved once per request, shared with ``Caller``."""
    if scope not in access.SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known scopes: {', '.join(access.SCOPES)}")

    async def check(caller: Caller) -> None:
        caller.require_scope(scope)

    return params.Depends(check)
