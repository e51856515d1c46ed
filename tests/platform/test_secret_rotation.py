"""Secret-key rotation on SQLite and PostgreSQL: every stored provider key and plugin secret re-encrypted under a
new key, the old key kept until the end and then retired; a crash midway resumes; a configured key rotates with
its previous keys; a secret under no key is reported, not lost."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.platform.access import Principal, bootstrap, user_workspaces
from plait.platform.plugin_tools import PluginTools
from plait.platform.plugins import AuthSettings, NewPlugin, OpenAPISource, PluginContext, create_plugin
from plait.platform.providers import ProviderChange, set_provider
from plait.platform.secret_rotation import reencrypt, rotate_secret_key
from plait.platform.services import secret_box
from plait.settings import SECRET_KEY_FILE, Settings, new_secret_key, write_secret_keys
from plait.store import Database
from plait.store.crypto import SecretBox, UndecryptableSecret

DOCUMENT = """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: "https://pets.example"}]
paths:
  /pets:
    get: {operationId: list_pets, summary: List the pets, responses: {"200": {description: ok}}}
"""


async def _store_secrets(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """A provider key and a plugin secret under ``settings``' key: {row id: plaintext}."""
    database = Database(settings.database_url)
    box = secret_box(settings)
    tools = PluginTools(database, box)
    try:
        async with database.unit_of_work() as uow:
            admin = await bootstrap(uow)
            workspace, _ = (await user_workspaces(uow, admin.id))[0]
            owner = Principal(key_id="", user_id=admin.id, workspace_id=workspace.id, role="owner")
            provider = await set_provider(uow, owner, box, ProviderChange(name="openai", api_key="sk-provider"))
            auth = AuthSettings(kind="bearer", secret="tok-plugin")
            new = NewPlugin(name="pets", kind="openapi", openapi=OpenAPISource(document=DOCUMENT), auth=auth)
            plugin = await create_plugin(uow, owner, PluginContext(box=box, tools=tools, data_dir=tmp_path), new)
    finally:
        await tools.aclose()
        await database.dispose()
    return {provider.id: "sk-provider", plugin.id: "tok-plugin"}


async def _decrypted(settings: Settings, box: SecretBox) -> dict[str, str]:
    database = Database(settings.database_url)
    try:
        async with database.unit_of_work() as uow:
            return {s.id: box.decrypt(s.ciphertext, context=s.id) for s in await uow.secrets.stored()}
    finally:
        await database.dispose()


async def test_rotation_re_encrypts_every_secret_and_retires_the_old_key(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    stored = await _store_secrets(settings, tmp_path)
    key_file = tmp_path / SECRET_KEY_FILE
    (old,) = key_file.read_text().split()
    rotation = await rotate_secret_key(settings)
    assert (rotation.rotated, rotation.current, rotation.undecryptable, rotation.retired_keys) == (2, 0, (), 1)
    (new,) = key_file.read_text().split()
    assert new != old and key_file.stat().st_mode & 0o777 == 0o600
    after = Settings(data_dir=tmp_path, database_url=database_url)
    assert await _decrypted(after, secret_box(after)) == stored
    with pytest.raises(UndecryptableSecret):
        await _decrypted(after, SecretBox(base64.urlsafe_b64decode(old)))


async def test_a_crashed_rotation_resumes_with_its_new_key(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    stored = await _store_secrets(settings, tmp_path)
    key_file = tmp_path / SECRET_KEY_FILE
    (old,) = key_file.read_text().split()
    new = new_secret_key()
    write_secret_keys(key_file, [new, old])  # the first step done, then a crash midway through the rows:
    database = Database(database_url)
    try:
        async with database.unit_of_work() as uow:
            first = (await uow.secrets.stored())[0]
        async with database.unit_of_work() as uow:
            box = SecretBox(base64.urlsafe_b64decode(new))
            assert await uow.secrets.replace(first, box.encrypt(stored[first.id], context=first.id))
            assert not await uow.secrets.replace(first, b"stale")  # the row changed since it was read
    finally:
        await database.dispose()
    midway = Settings(data_dir=tmp_path, database_url=database_url)
    assert await _decrypted(midway, secret_box(midway)) == stored  # both keys decrypt meanwhile
    rotation = await rotate_secret_key(midway)
    assert (rotation.rotated, rotation.current, rotation.retired_keys) == (1, 1, 1)
    assert key_file.read_text().split() == [new]
    again = await rotate_secret_key(Settings(data_dir=tmp_path, database_url=database_url))
    assert (again.rotated, again.current, again.retired_keys) == (2, 0, 1)  # a second run is a new rotation


async def test_a_configured_key_rotates_with_its_previous_keys(database_url: str, tmp_path: Path) -> None:
    old, new = new_secret_key(), new_secret_key()
    stored = await _store_secrets(Settings(data_dir=tmp_path, database_url=database_url, secret_key=old), tmp_path)
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key=new, previous_secret_keys=[old])
    rotation = await rotate_secret_key(settings)
    assert (rotation.rotated, rotation.retired_keys) == (2, 0)
    assert not (tmp_path / SECRET_KEY_FILE).exists()  # the configuration holds the keys: no file is written
    only_new = Settings(data_dir=tmp_path, database_url=database_url, secret_key=new)
    assert await _decrypted(only_new, secret_box(only_new)) == stored


async def test_a_secret_under_no_key_is_reported_and_left(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key=new_secret_key())
    await _store_secrets(settings, tmp_path)
    database = Database(database_url)
    try:
        rotation = await reencrypt(database, SecretBox(base64.urlsafe_b64decode(new_secret_key())))
    finally:
        await database.dispose()
    assert rotation.rotated == 0 and sorted(name.split()[0] for name in rotation.undecryptable) == [
        "plugin",
        "provider",
    ]


def test_bad_previous_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="previous_secret_keys"):
        Settings.load(data_dir=tmp_path, previous_secret_keys=["not-a-key"])


def test_the_cli_rotates_and_refuses_bad_settings(tmp_path: Path) -> None:
    env = {"PLAIT_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["secrets", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 0 secrets" in result.output and "1 old keys retired" in result.output
    refused = CliRunner().invoke(cli, ["secrets", "rotate"], env=env | {"PLAIT_PREVIOUS_SECRET_KEYS": "short"})
    assert refused.exit_code == 2 and "previous_secret_keys" in refused.output
