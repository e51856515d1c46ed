"""Request dependencies as ``Annotated`` aliases: the request's unit of work and the caller's principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from plait.platform import Principal, Unauthorized, authenticate
from plait.store import UnitOfWork


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """One transaction per request: committed when the handler returns, rolled back when it raises."""
    async with UnitOfWork(request.app.state.sessions) as uow:
        yield uow


# scope="function": commit before the response is sent, so a failed commit is the client's error, not a lie.
Uow = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]


async def _principal(request: Request, uow: Uow) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    return await authenticate(uow, token.strip())


Caller = Annotated[Principal, Depends(_principal)]
