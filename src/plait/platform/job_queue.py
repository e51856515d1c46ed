"""Queueing jobs in Redis (arq), from the API processes: what `plait.platform.jobs` runs in ``plait worker``.

The job's payload is JSON, never a pickle: whoever may write to Redis still cannot run code in the workers.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import orjson

from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig
from plait.platform.dataset_indexes import DatasetLimits, IngestBatch, Pending
from plait.platform.workflows.runner import RunJob

if TYPE_CHECKING:  # arq and redis are the optional extra plait[redis]
    from arq.connections import ArqRedis

    from plait.store.redis_hub import RedisHub

INGEST = "ingest_document"
WORKFLOW = "run_workflow"
JOB_TIMEOUT_SECONDS = 3600  # a job still running after this is stopped and tried again
MAX_TRIES = 5  # a job whose workers kept dying is dropped after this many tries (its document fails later)
HOLDER_SECONDS = 86_400  # how long Redis remembers a job's last taker


def queue_name(hub: RedisHub) -> str:
    return hub.key("queue")


def arq_pool(hub: RedisHub) -> ArqRedis:
    """An arq client on its own connections (a worker closes its pool at shutdown), JSON for jobs: Redis holds
    no pickles, so whoever may write to it still cannot run code in the workers."""
    from arq.connections import ArqRedis
    from redis.asyncio import ConnectionPool

    return ArqRedis(
        ConnectionPool.from_url(hub.url),
        job_serializer=dumps,
        job_deserializer=orjson.loads,
        default_queue_name=queue_name(hub),
    )


class JobQueue:
    """What an API process queues jobs with (`DatasetIndexes.queue`, `WorkflowRunner.queue`)."""

    def __init__(self, hub: RedisHub, instance: str) -> None:
        self._hub = hub
        self._instance = instance  # the runner of the queued runs until a worker takes them
        self._pool = arq_pool(hub)

    async def ingestion(self, batch: IngestBatch) -> None:
        """One job per document; the bytes travel with it (a file upload's are read here: a worker may run on
        another host)."""
        for item in batch.items:
            data = item.data
            if data is None and item.path is not None:
                data = await asyncio.to_thread(item.path.read_bytes)
            payload = _batch_json(batch) | {"item": _item_json(item, data)}
            await self._pool.enqueue_job(INGEST, payload, _job_id=self._hub.key("ingest", item.document_id))

    async def workflow(self, job: RunJob) -> None:
        payload = {"run_id": job.run_id, "workspace_id": job.workspace_id, "system": job.system}
        payload["queued_by"] = self._instance
        await self._pool.enqueue_job(WORKFLOW, payload, _job_id=self._hub.key("workflow", job.run_id))

    async def aclose(self) -> None:
        await self._pool.aclose(close_connection_pool=True)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str)  # a failed job's result is its exception: arq stores its text


def _batch_json(batch: IngestBatch) -> dict[str, Any]:
    config = {"name": batch.config.name, "embedder": batch.config.embedder, "chunking": asdict(batch.config.chunking)}
    return {
        "dataset_id": batch.dataset_id,
        "config": config,
        "pgvector": batch.pgvector,
        "limits": asdict(batch.limits),
    }


def _item_json(item: Pending, data: bytes | None) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode() if data is not None else None
    return {"document_id": item.document_id, "name": item.name, "file_name": item.file_name, "url": item.url} | {
        "data": encoded
    }


def batch_of(payload: dict[str, Any]) -> IngestBatch:
    """The batch of one document a job carries (`JobQueue.ingestion`)."""
    config, limits, item = payload["config"], payload["limits"], payload["item"]
    data = base64.b64decode(item["data"]) if item["data"] is not None else None
    return IngestBatch(
        dataset_id=payload["dataset_id"],
        config=KnowledgeBaseConfig(
            name=config["name"], embedder=config["embedder"], chunking=ChunkingConfig(**config["chunking"])
        ),
        pgvector=payload["pgvector"],
        limits=DatasetLimits(**{**limits, "web_networks": tuple(limits["web_networks"])}),
        items=[
            Pending(
                document_id=item["document_id"],
                name=item["name"],
                file_name=item["file_name"],
                url=item["url"],
                data=data,
            )
        ],
    )
