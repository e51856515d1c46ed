"""A workspace's own model providers (``plait providers``): an OpenAI-compatible endpoint with a key kept
encrypted, used by bots and ``/openai/v1`` of that workspace only; bad settings refused."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from cozepy import ChatStatus, Coze, CozeAPIError, Message
from server_harness import Running, run_cli
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.platform import Forbidden
from plait.platform.access import Principal
from plait.platform.providers import ProviderChange, set_provider
from plait.settings import Settings
from plait.store import UnitOfWork, create_engine, session_factory
from plait.store.crypto import SecretBox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # the model tests' fake providers
from fake_openai import OPENAI
from provider_servers import API_KEY, FakeProvider, Turn, serving


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with serving(FakeProvider([OPENAI])) as provider:
        yield provider


@pytest.fixture(scope="module")
def configured(server: Running, fake: FakeProvider) -> str:
    result = CliRunner().invoke(
        cli,
        [
            "providers",
            "set",
            "gateway",
            "--kind",
            "openai_compat",
            "--base-url",
            f"{fake.url}/openai/v1",
            "--model",
            "gpt-fake",
            "--key",
            "-",
        ],
        env=server.env,
        input=f"{API_KEY}\n",
    )
    assert result.exit_code == 0, result.output
    return "gateway/gpt-fake"


def _settings(server: Running) -> Settings:
    return Settings.load(data_dir=Path(server.env["PLAIT_DATA_DIR"]), database_url=server.env["PLAIT_DATABASE_URL"])


def test_a_bot_runs_on_the_workspace_provider(coze: Coze, space_id: str, configured: str, fake: FakeProvider) -> None:
    fake.reset()
    fake.reply(Turn(text="hello from the gateway"))
    bot_id = coze.bots.create(space_id=space_id, name="Gateway", model_info_config={"model_id": configured}).bot_id
    coze.bots.publish(bot_id=bot_id)
    chat = coze.chat.create(user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text("hi")])
    assert chat.status == ChatStatus.COMPLETED, chat.last_error
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.content for m in messages if m.type == "answer"] == ["hello from the gateway"]
    assert fake.last["model"] == "gpt-fake"  # the fake checked the key: a wrong one is a 401


def test_the_openai_api_sees_the_provider(server: Running, token: str, configured: str, fake: FakeProvider) -> None:
    fake.reset()
    fake.reply(Turn(text="direct"))
    with openai.OpenAI(api_key=token, base_url=f"{server.base_url}/openai/v1", max_retries=0) as client:
        assert configured in {m.id for m in client.models.list()}
        reply = client.chat.completions.create(model=configured, messages=[{"role": "user", "content": "x"}])
        assert reply.choices[0].message.content == "direct"


def test_the_key_is_stored_encrypted_and_never_listed(server: Running, configured: str) -> None:
    listing = run_cli(server.env, "providers", "list")
    assert "gateway  openai_compat  key: set" in listing and API_KEY not in listing

    async def stored() -> bytes:
        engine = create_engine(_settings(server).database_url)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                workspace_id = (await uow.workspaces.for_user((await uow.users.get_by_name("admin")).id))[0][0][0].id  # type: ignore[union-attr]
                row = await uow.model_configs.named(workspace_id, "gateway")
                assert row is not None and row.encrypted_key is not None
                assert SecretBox(*_settings(server).aes_keys()).decrypt(row.encrypted_key, context=row.id) == API_KEY
                return row.encrypted_key
        finally:
            await engine.dispose()

    assert API_KEY.encode() not in asyncio.run(stored())


def test_other_workspaces_do_not_see_it(server: Running, configured: str) -> None:
    other = server.coze(server.make_key("--workspace", "No gateway"))
    other_space = next(w.id for w in other.workspaces.list().items if w.name == "No gateway")
    with pytest.raises(CozeAPIError, match="unknown provider 'gateway'"):
        other.bots.create(space_id=other_space, name="x", model_info_config={"model_id": configured})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["providers", "set", "newone"], "a new provider needs one of"),
        (["providers", "set", "newone", "--kind", "openai_compat"], "needs its URL"),
        (["providers", "set", "openai", "--kind", "anthropic"], "is a built-in openai_compat provider"),
        (["providers", "set", "local"], "runs in-process"),
        (["providers", "set", "x", "--kind", "openai_compat", "--base-url", "ftp://h"], "is not an http(s) URL"),
        (["providers", "set", "bad name", "--kind", "gemini"], "use letters, digits"),
        (["providers", "remove", "never-set"], "model provider 'never-set' not found"),
    ],
)
def test_bad_provider_settings_are_refused(server: Running, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args, env=server.env)
    assert result.exit_code == 1 and message in result.output


def test_only_owners_and_admins_manage_providers(server: Running) -> None:
    async def attempt() -> None:
        engine = create_engine(server.env["PLAIT_DATABASE_URL"] or _settings(server).database_url)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                member = Principal(key_id="", user_id="u", workspace_id="w", role="member")
                await set_provider(uow, member, SecretBox(bytes(32)), ProviderChange(name="openai", api_key="k"))
        finally:
            await engine.dispose()

    with pytest.raises(Forbidden):
        asyncio.run(attempt())
