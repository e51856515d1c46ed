"""The principal cache: a checked key is trusted for its TTL, never a bad one; a revoke is forgotten as it
commits (`plait.platform.caches`), so the TTL only bounds a change the cache is not told of."""

from __future__ import annotations

import asyncio

import pytest

from plait.platform import Unauthorized
from plait.platform.access import PrincipalCache, bootstrap, create_key, revoke_key, user_workspaces
from plait.platform.audit import CLI, Actor
from plait.store import UnitOfWork, create_engine, session_factory, upgrade


@pytest.mark.parametrize("ttl", [0.0, 0.3])
async def test_a_revoked_key_fails_at_once_whatever_the_ttl(database_url: str, ttl: float) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with UnitOfWork(sessions) as uow:
            admin = await bootstrap(uow)
            workspace, _ = (await user_workspaces(uow, admin.id))[0]
            new = await create_key(
                uow, Actor(admin.id, CLI), workspace_id=workspace.id, user_id=admin.id, name="cached"
            )
        cache = PrincipalCache(ttl)
        async with UnitOfWork(sessions) as uow:
            assert (await cache.authenticate(uow, new.token)).key_id == new.key.id
            with pytest.raises(Unauthorized):
                await cache.authenticate(uow, "pat_not_a_key")
            await revoke_key(uow, Actor(admin.id, CLI), [workspace.id], new.key.id)
        async with UnitOfWork(sessions) as uow:
            with pytest.raises(Unauthorized):  # forgotten when the revoke committed
                await cache.authenticate(uow, new.token)
    finally:
        await engine.dispose()
