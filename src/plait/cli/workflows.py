"""``plait workflows``: run a workflow file locally (events printed as they happen), import one into a workspace,
export one back to a file."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from plait.cli.server import DataDir, run_admin_task, settings_or_exit
from plait.schema import PlaitError
from plait.workflows import (
    Interrupted,
    MessageOut,
    NodeChunk,
    NodeFailed,
    NodeFinished,
    NodeStarted,
    RunEvent,
    RunFailed,
    RunFinished,
    Services,
    WorkflowDoc,
    WorkflowInputError,
    WorkflowInvalid,
    parse_doc,
    run_workflow,
)
from plait.workflows.types import parse_text

workflows_app = typer.Typer(help="Workflows: run a file locally, import and export.", no_args_is_help=True)
PREVIEW = 200  # characters of a value shown per line


def read_file(path: Path) -> dict[str, Any]:
    """A workflow file, YAML or JSON (YAML reads both)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        typer.echo(f"error: cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        typer.echo(f"error: {path} does not hold a workflow document (a mapping)", err=True)
        raise typer.Exit(2)
    return data


def parse_inputs(doc: WorkflowDoc, pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs read by each parameter's declared type (a number as a number, JSON for objects and lists)."""
    types = {param.name: param.type for param in doc.inputs}
    inputs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise WorkflowInputError(f"--input {pair!r}: write it as name=value")
        try:
            inputs[name] = parse_text(text, types.get(name, "any"))
        except ValueError as exc:
            raise WorkflowInputError(f"--input {name}: {exc}") from None
    return inputs


def local_services() -> Services:
    """What a local run has: the model registry and the built-in tools; no workspace datasets or bots."""
    from plait.models.registry import default_registry
    from plait.platform.builtin_plugins import BUILTINS
    from plait.workflows.nodes.tool import MappingTools

    return Services(models=default_registry(), tools=MappingTools({p.name: p.make() for p in BUILTINS.values()}))


def _preview(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def _where(event: Any) -> str:
    path = "/".join((*event.path, event.node_id))
    return path if event.index is None else f"{path}[{event.index}]"


def describe(event: RunEvent) -> str | None:
    """One line for an event (None for chunks, which are printed as they stream)."""
    if isinstance(event, NodeStarted):
        return f"▶ {_where(event)} ({event.node_type}) inputs={_preview(event.inputs)}"
    if isinstance(event, NodeFinished):
        extra = f" {event.status}: {event.error}" if event.error else ""
        branch = f" branch={event.branch}" if event.branch else ""
        return f"✔ {_where(event)} {event.duration * 1000:.1f} ms{branch}{extra} outputs={_preview(event.outputs)}"
    if isinstance(event, NodeFailed):
        return f"✘ {_where(event)} {event.duration * 1000:.1f} ms after {event.attempts} attempt(s): {event.error}"
    if isinstance(event, MessageOut):
        return None if not event.stream_end else f"✉ {event.node_id}: {event.content}"
    if isinstance(event, Interrupted):
        return f"⏸ {event.node_id} waits for {event.kind} ({event.interrupt_id}): {_preview(event.data)}"
    if isinstance(event, RunFinished):
        outputs = json.dumps(event.outputs, indent=2, ensure_ascii=False, default=str)
        return f"run {event.run_id} finished in {event.duration * 1000:.1f} ms\n{outputs}"
    if isinstance(event, RunFailed):
        return f"run {event.run_id} failed: {event.error}"
    return None


@workflows_app.command("run")
def run(
    file: Path = typer.Argument(..., help="A workflow file (YAML or JSON)."),
    input: list[str] = typer.Option([], "--input", "-i", help="An input as name=value; repeat for each."),
    stream: bool = typer.Option(False, help="Stream model tokens and answers as they are generated."),
    as_json: bool = typer.Option(False, "--json", help="Print each event as a JSON line."),
) -> None:
    """Run a workflow locally and print its events as they happen; exit 1 when the run fails."""
    data = read_file(file)

    async def main() -> RunEvent | None:
        doc = parse_doc(data)
        last: RunEvent | None = None
        async for event in run_workflow(doc, parse_inputs(doc, input), services=local_services(), stream=stream):
            last = event
            if as_json:
                typer.echo(json.dumps({"event": type(event).__name__, **dataclasses.asdict(event)}, default=str))
            elif isinstance(event, NodeChunk | MessageOut) and (isinstance(event, NodeChunk) or not event.stream_end):
                sys.stdout.write(str(event.chunk if isinstance(event, NodeChunk) else event.content))
                sys.stdout.flush()
            else:
                line = describe(event)
                if line is not None:
                    typer.echo(line)
        return last

    try:
        last = asyncio.run(main())
    except WorkflowInvalid as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except PlaitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if isinstance(last, RunFailed):
        raise typer.Exit(1)


@workflows_app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="A workflow file (YAML or JSON)."),
    workspace: str | None = typer.Option(None, help="Workspace id or name (default: the admin's first)."),
    publish: bool = typer.Option(False, help="Publish it as a new version too."),
    data_dir: Path | None = DataDir,
) -> None:
    """Import a workflow into a workspace (a new one, or a new draft of the one of the same name); prints its id
    as the last line."""
    from plait.platform.workflows.catalog import import_workflow

    data = read_file(file)
    record = run_admin_task(
        settings_or_exit(data_dir),
        lambda uow: _as_admin(uow, workspace, lambda p: import_workflow(uow, p, data, publish)),
    )
    typer.echo(f"imported workflow {record.name!r} into workspace {record.workspace_id}")
    typer.echo(record.id)


@workflows_app.command("export")
def export(
    workflow_id: str = typer.Argument(..., help="The workflow's id."),
    workspace: str | None = typer.Option(None, help="Workspace id or name (default: the admin's first)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
    data_dir: Path | None = DataDir,
) -> None:
    """Print (or write) a workflow's draft as a YAML workflow file that ``import`` reads back."""
    from plait.platform.workflows.catalog import export_workflow

    doc = run_admin_task(
        settings_or_exit(data_dir),
        lambda uow: _as_admin(uow, workspace, lambda p: export_workflow(uow, p, workflow_id)),
    )
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


async def _as_admin(uow: Any, workspace: str | None, work: Any) -> Any:
    """Run a use case as the local admin in ``workspace`` (what a CLI on the server's machine may do)."""
    from plait.platform import access, audit

    admin = await access.bootstrap(uow)
    target = await access.find_or_create_workspace(uow, audit.Actor(admin.id, audit.CLI), admin, workspace)
    principal = access.Principal(key_id=audit.CLI, user_id=admin.id, workspace_id=target.id, role="owner")
    return await work(principal)
