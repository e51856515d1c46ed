"""``plait serve``, ``plait keys ...``, ``plait db upgrade`` and ``plait secrets rotate``: the server and its admin
tasks.

The admin tasks open the database themselves (migrating and bootstrapping first), so they work while the
server is stopped, e.g. to create the very first API key.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer

from plait.platform import PlatformError, access, audit
from plait.platform.services import migrate
from plait.platform.unit_of_work import UnitOfWork
from plait.settings import Settings, SettingsError

T = TypeVar("T")

server_app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
secrets_app = typer.Typer(
    help="The secret key that encrypts stored provider keys and plugin secrets.", no_args_is_help=True
)
server_app.add_typer(keys_app, name="keys")
server_app.add_typer(db_app, name="db")
server_app.add_typer(secrets_app, name="secrets")

DataDir = typer.Option(None, "--data-dir", help="Where the database and secret key live (PLAIT_DATA_DIR).")


def _check_scopes(scopes: list[str]) -> list[str]:
    """Unknown scopes are a usage error (exit 2), found before the database is opened."""
    try:
        return access.check_scopes(scopes)
    except PlatformError as exc:
        raise typer.BadParameter(exc.msg) from None


Scopes = typer.Option(
    [],
    "--scope",
    metavar="SCOPE",
    callback=_check_scopes,
    help=f"Limit the key to an API area; repeat for several (default: all). One of: {', '.join(access.SCOPES)}.",
)


def settings_or_exit(data_dir: Path | None = None) -> Settings:
    """Validated settings, or a clear message and exit code 2."""
    try:
        return Settings.load(**({"data_dir": data_dir} if data_dir else {}))
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def run_admin_task(settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Migrate, bootstrap, then run ``work`` in one unit of work; a domain error exits 1 with its message."""
    from plait.platform.services import admin_unit_of_work

    async def main() -> T:
        async with admin_unit_of_work(settings) as uow:
            return await work(uow)

    try:
        return asyncio.run(main())
    except PlatformError as exc:
        typer.echo(f"error: {exc.msg}", err=True)
        raise typer.Exit(1) from None


@server_app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (PLAIT_HOST, default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (PLAIT_PORT, default 8000)."),
    data_dir: Path | None = DataDir,
    workers: int | None = typer.Option(None, help="Worker processes (PLAIT_WORKERS, default 1)."),
) -> None:
    """Run the API server."""
    import uvicorn

    # Workers are separate processes that build their settings from the environment, so overrides go there.
    for name, value in (("HOST", host), ("PORT", port), ("DATA_DIR", data_dir), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"PLAIT_{name}"] = str(value)
    settings = settings_or_exit()
    from plait.observability import tracing
    from plait.observability.logs import configure_logging
    from plait.observability.metrics import prepare_multiprocess
    from plait.platform.services import prepare_database

    configure_logging(settings.log_level, settings.log_format, tracing=tracing.wanted(settings.tracing))
    if settings.workers > 1:  # each worker writes its metrics there; /metrics adds them up (docs/operations.md)
        prepare_multiprocess(settings.data_dir / "prometheus")

    asyncio.run(prepare_database(settings))  # once, before workers start, so they do not race to migrate
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(
        f"Plait on {base} (Coze API), {base}/openai/v1 (OpenAI API), {base}/docs; data in {settings.data_dir}.\n"
        "Make an API key in another terminal: plait keys create"
    )
    uvicorn.run(
        "plait.server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # the workers' logs go through configure_logging (app_from_env), as JSON or console
    )


def _describe(key: access.KeyRecord) -> str:
    used = datetime.fromtimestamp(key.last_used_at, UTC).strftime("%Y-%m-%d %H:%M UTC") if key.last_used_at else "never"
    return (
        f"{key.id}  {key.prefix}…  {key.name}  {'revoked' if key.revoked_at else 'active'}"
        f"  scopes: {','.join(key.scopes) or 'all'}  last used: {used}"
    )


@keys_app.command("create")
def create_key(
    workspace: str | None = typer.Option(
        None, help="Workspace id or name (default: the admin's first); created if new."
    ),
    name: str = typer.Option("default", help="A label for the key."),
    user: str = typer.Option(access.ADMIN_NAME, help="The user the key acts as; created if new."),
    role: str = typer.Option("member", help="The role of a new user in the workspace (viewer: read only)."),
    scope: list[str] = Scopes,
    data_dir: Path | None = DataDir,
) -> None:
    """Create an API key; the token is printed once, as the last line."""

    async def work(uow: UnitOfWork) -> access.NewKey:
        admin = await access.bootstrap(uow)
        actor = audit.Actor(admin.id, audit.CLI)
        target = await access.find_or_create_workspace(uow, actor, admin, workspace)
        member = admin if user == admin.name else await access.find_or_add_member(uow, actor, target, user, role)
        return await access.create_key(uow, actor, workspace_id=target.id, user_id=member.id, name=name, scopes=scope)

    new = run_admin_task(settings_or_exit(data_dir), work)
    typer.echo(f"key {new.key.id} for workspace {new.key.workspace_id}; keep the token, it is not shown again:")
    typer.echo(new.token)


@keys_app.command("list")
def list_keys(
    workspace: str | None = typer.Option(None, help="Workspace id or name."), data_dir: Path | None = DataDir
) -> None:
    """List the keys of a workspace (never their tokens)."""

    async def work(uow: UnitOfWork) -> list[str]:
        admin = await access.bootstrap(uow)
        target = await access.find_or_create_workspace(uow, audit.Actor(admin.id, audit.CLI), admin, workspace)
        return [_describe(key) for key in await access.list_keys(uow, target.id)]

    for line in run_admin_task(settings_or_exit(data_dir), work):
        typer.echo(line)


@keys_app.command("revoke")
def revoke_key(key_id: str, data_dir: Path | None = DataDir) -> None:
    """Revoke a key: requests with its token fail from now on."""

    async def work(uow: UnitOfWork) -> None:
        admin = await access.bootstrap(uow)
        workspace_ids = [workspace.id for workspace, _ in await access.user_workspaces(uow, admin.id)]
        await access.revoke_key(uow, audit.Actor(admin.id, audit.CLI), workspace_ids, key_id)

    run_admin_task(settings_or_exit(data_dir), work)
    typer.echo(f"revoked {key_id}")


@db_app.command("upgrade")
def db_upgrade(data_dir: Path | None = DataDir) -> None:
    """Apply pending migrations."""
    settings = settings_or_exit(data_dir)
    migrate(settings)
    typer.echo("database is at the latest revision")


@secrets_app.command("rotate")
def rotate_secrets(data_dir: Path | None = DataDir) -> None:
    """Re-encrypt every stored provider key and plugin secret under a new secret key; safe to run again after
    a crash (it resumes). Restart the servers afterwards (docs/operations.md)."""
    from plait.platform.secret_rotation import rotate_secret_key

    rotation = asyncio.run(rotate_secret_key(settings_or_exit(data_dir)))
    typer.echo(
        f"re-encrypted {rotation.rotated} secrets ({rotation.current} were already under the new key); "
        f"{rotation.retired_keys} old keys retired"
    )
    for name in rotation.undecryptable:
        typer.echo(f"warning: {name}: decrypts with none of the keys; set it again", err=True)
