"""``plait audit list``: the instance's audit log of admin actions (every workspace, and the instance-wide
actions such as ``plait secrets rotate``), newest first, as a table or JSON lines."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from plait.cli.server import DataDir, run_admin_task, settings_or_exit
from plait.platform import NotFound, access
from plait.platform.audit_log import MAX_PAGE_SIZE, AuditFilter, EventPage, instance_events
from plait.platform.unit_of_work import UnitOfWork

audit_app = typer.Typer(help="The audit log of admin actions.", no_args_is_help=True)


def _moment(value: str | None) -> int | None:
    """Unix seconds, or an ISO 8601 date or time (UTC unless it says otherwise; a date is its midnight)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: unix seconds or an ISO 8601 date or time") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


Moment = typer.Option(None, metavar="WHEN", help="Unix seconds or an ISO 8601 date or time (UTC); included.")


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


@audit_app.command("list")
def list_events(
    workspace: str | None = typer.Option(None, help="A workspace id or name (default: every one, and the instance)."),
    action: str | None = typer.Option(None, help="An action or its prefix: api_key, provider.set..."),
    actor: str | None = typer.Option(None, help="A user id, a key id, or cli."),
    since: str | None = Moment,
    until: str | None = Moment,
    page: int = typer.Option(1, min=1, help="Which page, newest first."),
    page_size: int = typer.Option(50, min=1, max=MAX_PAGE_SIZE, help="Events per page."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
    data_dir: Path | None = DataDir,
) -> None:
    """Admin actions, newest first: keys, members, providers, plugins, publishes, secret rotations."""
    found = AuditFilter(action=action, actor=actor, since=_moment(since), until=_moment(until))

    async def work(uow: UnitOfWork) -> EventPage:
        workspace_id = None
        if workspace is not None:
            admin = await access.bootstrap(uow)
            rows = await access.user_workspaces(uow, admin.id)
            workspace_id = next((w.id for w, _ in rows if workspace in (w.id, w.name)), None)
            if workspace_id is None:
                raise NotFound(f"workspace {workspace!r} not found")
        return await instance_events(uow, found, workspace_id=workspace_id, page_num=page, page_size=page_size)

    events = run_admin_task(settings_or_exit(data_dir), work)
    if as_json:
        for event in events.items:
            typer.echo(json.dumps(asdict(event), ensure_ascii=False))
        return
    table = Table("at (UTC)", "workspace", "actor (user / key)", "action", "target", "detail")
    for column in table.columns:
        column.overflow = "fold"  # ids whole, never elided
    table.columns[0].no_wrap = table.columns[3].no_wrap = True  # time and action read whole at any width
    for event in events.items:
        table.add_row(
            _when(event.at),
            event.workspace_id or "(instance)",
            f"{event.actor_user_id or '-'} / {event.actor_key_id}",
            event.action,
            f"{event.target_type} {event.target_id or ''}".strip(),
            json.dumps(event.detail, ensure_ascii=False),
        )
    table.caption = f"page {page}: {len(events.items)} of {events.total} events" + (
        f"; --page {page + 1} for older ones" if events.has_more else ""
    )
    Console().print(table)
