"""The ``plait`` command. Thin: parse arguments, call the library, render with rich."""

from __future__ import annotations

from importlib.metadata import version

import typer

from plait.cli.audit import audit_app
from plait.cli.chat import chat
from plait.cli.kb import eval_app, kb_app
from plait.cli.mcp import mcp_app
from plait.cli.providers import providers_app
from plait.cli.server import server_app
from plait.cli.worker import worker
from plait.cli.workflows import workflows_app

app = typer.Typer(name="plait", help="Plait: an LLM application framework and platform.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Plait: an LLM application framework and platform."""


app.command("chat")(chat)
app.command("worker")(worker)
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(server_app)  # serve, keys, db
app.add_typer(providers_app, name="providers")
app.add_typer(mcp_app, name="mcp")
app.add_typer(workflows_app, name="workflows")
app.add_typer(audit_app, name="audit")


@app.command("version")
def show_version() -> None:
    """Print Plait's version."""
    typer.echo(version("plait"))


if __name__ == "__main__":
    app()
