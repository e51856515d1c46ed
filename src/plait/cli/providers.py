"""``plait providers ...``: a workspace's own model providers (keys stored encrypted, base URLs, endpoints of
its own), set while the server runs or not; each worker picks a change up within a few seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from plait.cli.server import DataDir, run_admin_task, settings_or_exit
from plait.platform import access, audit
from plait.platform.providers import KINDS, ProviderChange, list_providers, remove_provider, set_provider
from plait.platform.services import secret_box
from plait.platform.unit_of_work import UnitOfWork

providers_app = typer.Typer(help="A workspace's model providers: API keys, base URLs, endpoints.", no_args_is_help=True)

Workspace = typer.Option(None, help="Workspace id or name (default: the admin's first).")


async def _owner(uow: UnitOfWork, workspace: str | None) -> access.Principal:
    admin = await access.bootstrap(uow)
    target = await access.find_or_create_workspace(uow, audit.Actor(admin.id, audit.CLI), admin, workspace)
    return access.Principal(key_id=audit.CLI, user_id=admin.id, workspace_id=target.id, role="owner")


@providers_app.command("set")
def set_command(
    name: str = typer.Argument(
        ..., help="What model ids start with: a built-in provider (openai, deepseek...) or a new one."
    ),
    kind: str | None = typer.Option(None, help=f"For a new provider: {', '.join(KINDS)}."),
    key: str | None = typer.Option(
        None, help="The API key; '-' reads it from standard input (keeps it out of history)."
    ),
    base_url: str | None = typer.Option(None, help="The provider's API URL (a new OpenAI-compatible one needs it)."),
    model: list[str] = typer.Option([], help="A model name the provider serves; repeat for several."),
    workspace: str | None = Workspace,
    data_dir: Path | None = DataDir,
) -> None:
    """Add or change a provider; the key is stored AES-GCM encrypted with the server's secret key."""
    settings = settings_or_exit(data_dir)
    api_key = sys.stdin.readline().strip() if key == "-" else key
    change = ProviderChange(name=name, kind=kind, api_key=api_key, base_url=base_url, models=tuple(model))

    async def work(uow: UnitOfWork) -> str:
        row = await set_provider(uow, await _owner(uow, workspace), secret_box(settings), change)
        return f"provider {row.name} ({row.provider}) set for workspace {row.workspace_id}"

    typer.echo(run_admin_task(settings, work))


@providers_app.command("list")
def list_command(workspace: str | None = Workspace, data_dir: Path | None = DataDir) -> None:
    """The workspace's providers (never their keys)."""

    async def work(uow: UnitOfWork) -> list[str]:
        rows = await list_providers(uow, await _owner(uow, workspace))
        return [
            f"{r.name}  {r.provider}  key: {'set' if r.encrypted_key else 'none'}  url: {r.base_url or 'default'}"
            f"  models: {r.model or '-'}"
            for r in rows
        ]

    for line in run_admin_task(settings_or_exit(data_dir), work) or [
        "no providers configured: the built-in ones and the environment apply"
    ]:
        typer.echo(line)


@providers_app.command("remove")
def remove_command(name: str, workspace: str | None = Workspace, data_dir: Path | None = DataDir) -> None:
    """Forget a provider's settings (a built-in one falls back to the environment)."""

    async def work(uow: UnitOfWork) -> None:
        await remove_provider(uow, await _owner(uow, workspace), name)

    run_admin_task(settings_or_exit(data_dir), work)
    typer.echo(f"provider {name} removed")
