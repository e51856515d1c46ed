"""A workspace's providers when the server's secret key changed: the provider whose key no longer decrypts asks
for a key again (logged), and the rest of the workspace's models go on working."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from plait.models.errors import ModelConfigError
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.providers import ProviderChange, WorkspaceModels, set_provider
from plait.store import Database, upgrade
from plait.store.crypto import SecretBox


async def test_a_key_that_no_longer_decrypts_fails_only_its_provider(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/plait.db"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.unit_of_work() as uow:
            admin = await bootstrap(uow)
            workspace, _ = (await user_workspaces(uow, admin.id))[0]
            owner = Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
            change = ProviderChange(name="openai", api_key="sk-old-secret")
            await set_provider(uow, owner, SecretBox(os.urandom(32)), change)
        models = WorkspaceModels(database, SecretBox(os.urandom(32)))  # a new secret.key
        try:
            registry = await models.registry(workspace.id)
            assert registry.get("scripted/echo") is not None  # the workspace still works
            with pytest.raises(ModelConfigError, match="needs an API key"):
                registry.get("openai/gpt-4o")
        finally:
            await models.aclose()
    finally:
        await database.dispose()
    assert "does not decrypt with this server's secret key" in caplog.text
    assert "sk-old-secret" not in caplog.text
