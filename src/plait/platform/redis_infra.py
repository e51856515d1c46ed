"""What the processes of one deployment share besides the database, when Redis is configured
(``PLAIT_REDIS_URL``): the run-event relay and control channels of the chats, the job queue and the rate-limit
buckets, the channel that tells every process's caches what changed, and the embeddings the processes made.
Without it every part keeps its in-process default and nothing here is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from plait.guard.limits import InProcessRateLimiter, Rate, RateLimiter
from plait.platform.caches import CacheRelay
from plait.platform.chat.relay import RedisRunBus
from plait.platform.chat.runner import ChatRunner
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.job_queue import JobQueue
from plait.platform.workflows.runner import WorkflowRunner
from plait.settings import Settings

if TYPE_CHECKING:  # redis is the optional extra plait[redis]: loaded only when it is configured
    from plait.store.redis_hub import RedisHub


@dataclass(slots=True, frozen=True)
class RedisInfra:
    hub: RedisHub
    bus: RedisRunBus
    queue: JobQueue
    caches: CacheRelay

    @classmethod
    def open(cls, settings: Settings, instance: str) -> RedisInfra | None:
        """None without Redis; connections are made on first use, so a Redis down at start is seen by ``/ready``."""
        if not settings.redis_url:
            return None
        from plait.store.redis_hub import RedisHub

        hub = RedisHub(settings.redis_url, settings.redis_prefix)
        return cls(hub=hub, bus=RedisRunBus(hub), queue=JobQueue(hub, instance), caches=CacheRelay(hub))

    def attach(self, chats: ChatRunner, datasets: DatasetIndexes, workflows: WorkflowRunner) -> None:
        """Hand the runners their Redis parts: cancels sent to this process stop its chats, and ingestion and
        async workflow runs go to the queue; the caches hear of every process's changes, and the embedders
        read the vectors the other processes made."""
        from plait.store.redis_vectors import RedisVectors

        self.bus.on_cancel(chats.instance, chats.stop)
        self.caches.start()
        datasets.shared_vectors = RedisVectors(self.hub)
        datasets.queue = self.queue.ingestion
        workflows.queue = self.queue.workflow

    def rate_limiter(self, per_key: Rate, per_workspace: Rate) -> RateLimiter:
        """Buckets all the processes share, with this process's own for when Redis is out of reach."""
        from plait.store.redis_limits import RedisRateLimiter

        return RedisRateLimiter(self.hub, per_key, per_workspace, InProcessRateLimiter(per_key, per_workspace))

    async def aclose(self) -> None:
        """After the runners: the relay sends the last events of the runs they stopped."""
        await self.bus.aclose()
        await self.caches.aclose()
        await self.queue.aclose()
        await self.hub.aclose()
