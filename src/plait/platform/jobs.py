"""``plait worker``: runs the jobs the API processes queue in Redis (`plait.platform.job_queue`): document
ingestion and async workflow runs. What a job did is in the database, as without a queue.

A job is taken by one worker at a time. Its worker renews the job's lease in Redis every third of
``job_lease_seconds``; a worker that dies (``kill -9``, a lost host) stops renewing, and another worker takes the
job again once the lease ran out. A worker that stops (SIGTERM) hands its jobs back to the queue at once.

The database says who may write: a queued document is leased to ``QUEUED``, a queued run names the API process
that queued it as its runner. Taking a job moves that owner to the taking worker with one conditional update,
from the owner Redis recorded for the job's last taker (or the first owner), so a worker presumed dead that
still runs cannot write any more, and a run that another process's recovery adopted is left to it. A document
taken again starts over (the chunks of the try that stopped are deleted); a run resumes from its last
checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from plait.platform.dataset_indexes import LEASE_SECONDS, QUEUED, QUEUED_LEASE_SECONDS
from plait.platform.job_queue import (
    HOLDER_SECONDS,
    INGEST,
    JOB_TIMEOUT_SECONDS,
    MAX_TRIES,
    WORKFLOW,
    arq_pool,
    batch_of,
    dumps,
    queue_name,
)
from plait.platform.services import Services
from plait.platform.workflows.catalog import run_document
from plait.platform.workflows.runner import RunJob
from plait.settings import Settings

if TYPE_CHECKING:  # redis is the optional extra plait[redis]
    from plait.store.redis_hub import RedisHub

log = logging.getLogger(__name__)


class JobHandlers:
    """What a ``plait worker`` runs the jobs with: its own `Services` (a worker slot, the runners)."""

    def __init__(self, services: Services, hub: RedisHub) -> None:
        self._services = services
        self._hub = hub
        self._lease_seconds = services.settings.job_lease_seconds
        self.stopping = False  # set at SIGTERM/SIGINT: the cancelled jobs go back to the queue

    async def ingest_document(self, ctx: dict[str, Any], payload: dict[str, Any]) -> None:
        batch = batch_of(payload)
        item = batch.items[0]
        owner = self._services.datasets.instance
        database = self._services.database

        async def claim(expected: str) -> bool:
            async with database.unit_of_work() as uow:
                until = int(time.time()) + LEASE_SECONDS
                taken = await uow.documents.leased(
                    item.document_id, expected, lease_owner=owner, lease_until=until, progress=0
                )
                if taken:
                    await uow.chunks.delete_for([item.document_id])  # what a stopped try wrote
            return taken

        async def hand_back() -> None:
            async with database.unit_of_work() as uow:
                until = int(time.time()) + QUEUED_LEASE_SECONDS
                await uow.documents.leased(item.document_id, owner, lease_owner=QUEUED, lease_until=until)

        async with self._holding(ctx, owner, QUEUED, claim, hand_back) as taken:
            if taken:
                await self._services.datasets.ingest(batch)

    async def run_workflow(self, ctx: dict[str, Any], payload: dict[str, Any]) -> None:
        run_id, workspace_id = payload["run_id"], payload["workspace_id"]
        owner = self._services.presence.instance
        database = self._services.database

        async def claim(expected: str) -> bool:
            async with database.unit_of_work() as uow:
                return await uow.workflow_runs.adopt(run_id, expected, owner)

        async def hand_back() -> None:
            async with database.unit_of_work() as uow:
                await uow.workflow_runs.adopt(run_id, owner, payload["queued_by"])

        async with self._holding(ctx, owner, payload["queued_by"], claim, hand_back) as taken:
            if not taken:
                return
            async with database.unit_of_work() as uow:
                row = await uow.workflow_runs.get(workspace_id, run_id)
                assert row is not None  # the runner is this worker: the run is there and running
                doc = await run_document(uow, workspace_id, row.workflow_id, row.version)
            job = RunJob(
                run_id=run_id,
                workspace_id=workspace_id,
                workflow_id=row.workflow_id,
                doc=doc,
                inputs=row.inputs,
                system=payload["system"],
                created_by=row.created_by or "",
            )
            execution = self._services.workflows.start(job)
            assert execution.task is not None
            await execution.task

    @contextlib.asynccontextmanager
    async def _holding(
        self,
        ctx: dict[str, Any],
        owner: str,
        first_owner: str,
        claim: Callable[[str], Awaitable[bool]],
        hand_back: Callable[[], Awaitable[None]],
    ) -> AsyncIterator[bool]:
        """Take the job (True) or find it is someone else's (False); renew its lease while it runs, forget its
        holder when it is done, hand it back to the queue when this worker stops."""
        job_id: str = ctx["job_id"]
        redis = self._hub.redis
        holder_key = f"{job_id}:holder"
        previous = await redis.get(holder_key)
        if not await claim(previous.decode() if previous else first_owner):
            log.info("job %s (try %s) is held by another process; dropped", job_id, ctx["job_try"])
            yield False
            return
        await redis.set(holder_key, owner, ex=HOLDER_SECONDS)
        renewing = asyncio.create_task(self._renew(job_id), name=f"lease of job {job_id}")
        try:
            yield True
        except asyncio.CancelledError:
            if self.stopping:  # else arq's job timeout: the lease runs out and the sweep fails what it was
                await hand_back()
                await redis.delete(holder_key)
            raise
        else:
            await redis.delete(holder_key)
        finally:
            renewing.cancel()

    async def _renew(self, job_id: str) -> None:
        """Keep arq's in-progress key ``job_lease_seconds`` ahead: it expires soon after this worker dies."""
        from arq.constants import in_progress_key_prefix

        lease_ms = int(self._lease_seconds * 1000)
        while True:
            await self._hub.redis.pexpire(in_progress_key_prefix + job_id, lease_ms)
            await asyncio.sleep(self._lease_seconds / 3)


async def run_worker(settings: Settings) -> None:
    """``plait worker``: take jobs until SIGTERM or SIGINT, then hand the running ones back to the queue."""
    from arq.worker import Worker, func

    services = await Services.open(settings)
    assert services.redis is not None
    hub = services.redis.hub
    handlers = JobHandlers(services, hub)
    worker = Worker(
        [
            func(handlers.ingest_document, name=INGEST, timeout=JOB_TIMEOUT_SECONDS, max_tries=MAX_TRIES),
            func(handlers.run_workflow, name=WORKFLOW, timeout=JOB_TIMEOUT_SECONDS, max_tries=MAX_TRIES),
        ],
        redis_pool=arq_pool(hub),
        queue_name=queue_name(hub),
        keep_result=0,
        job_serializer=dumps,
        job_deserializer=orjson.loads,
    )
    worker.on_stop = lambda _signal: setattr(handlers, "stopping", True)
    try:
        with contextlib.suppress(asyncio.CancelledError):  # a signal cancels arq's main task
            await worker.async_run()
    finally:
        await worker.close()
        await services.aclose()
