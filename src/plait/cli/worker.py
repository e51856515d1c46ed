"""``plait worker``: runs the jobs the API processes queue in Redis (document ingestion, async workflow runs);
as many as wanted, on any host that reaches the database and Redis (docs/deploy.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from plait.cli.server import DataDir, settings_or_exit


def worker(data_dir: Path | None = DataDir) -> None:
    """Run queued jobs until SIGTERM or SIGINT (the running ones go back to the queue)."""
    settings = settings_or_exit(data_dir)
    if not settings.redis_url:
        typer.echo("error: plait worker takes its jobs from Redis: set PLAIT_REDIS_URL (docs/deploy.md)", err=True)
        raise typer.Exit(2)
    from plait.observability import tracing
    from plait.observability.logs import configure_logging
    from plait.platform.jobs import run_worker

    configure_logging(settings.log_level, settings.log_format, tracing=tracing.wanted(settings.tracing))
    asyncio.run(run_worker(settings))
