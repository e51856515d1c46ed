"""Request dependencies as ``Annotated`` aliases: the request's unit of work and the caller's principal, and
``require_scope``, the router-level check of what the caller's key may reach."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plait.platform import Principal, Unauthorized, access, authenticate
from plait.store import UnitOfWork
from plait.store.base import now


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """One transaction per request: committed when the handler returns, rolled back when it raises."""
    async with UnitOfWork(request.app.state.sessions) as uow:
        yield uow


# scope="function": commit before the response is sent, so a failed commit is the client's error, not a lie.
Uow = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]

# auto_error=False: a missing token is our 4100 envelope, not FastAPI's; the scheme also puts "Authorize" in /docs.
_bearer = HTTPBearer(auto_error=False, description="An API key from `plait keys create`.")
_usage = access.UsageThrottle()


async def _principal(
    request: Request, uow: Uow, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    principal = await authenticate(uow, token)
    at = now()
    if _usage.claim(principal.key_id, at):
        # Its own short transaction: the request's may stay open through a whole model call, and a write in it
        # would hold SQLite's one write lock (or the key's row lock on PostgreSQL) all that time.
        async with UnitOfWork(request.app.state.sessions) as usage_uow:
            await access.record_use(usage_uow, principal.key_id, at)
    return principal


Caller = Annotated[Principal, Depends(_principal)]


def require_scope(scope: str) -> params.Depends:
    """A dependency for a whole router, ``APIRouter(dependencies=[require_scope("bots")])``: a key without the
    scope gets 403 / 4101 naming it. The principal is resolved once per request, shared with ``Caller``."""
    if scope not in access.SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known scopes: {', '.join(access.SCOPES)}")

    async def check(caller: Caller) -> None:
        caller.require_scope(scope)

    return params.Depends(check)
