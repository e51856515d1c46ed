"""Request rate limits per API key and per workspace: token buckets, one pair per caller.

`RateLimiter` is the interface the server calls once per authenticated request; `InProcessRateLimiter` keeps
its buckets in a dict, so each worker process limits on its own; with Redis configured the processes share
buckets there (``plait.store.redis_limits``), and fall back to these while Redis is out of reach. A bucket
holds ``burst`` tokens and refills ``rate`` per second; a request takes one from its key's bucket and one from
its workspace's, or neither, and is told how long to wait."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class RateLimiter(Protocol):
    async def acquire(self, key_id: str, workspace_id: str, now: float) -> float:
        """0 when the request may go on (its tokens are taken), else the seconds until it may."""
        ...


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` sustained, ``burst`` at once; a rate of 0 means no limit."""

    per_second: float
    burst: int

    @property
    def off(self) -> bool:
        return self.per_second <= 0


class _Buckets:
    """Token counts by name, as [tokens, last refill time]; full buckets are dropped when the dict grows,
    since a missing bucket reads as full."""

    def __init__(self, rate: Rate, max_entries: int) -> None:
        self.rate = rate.per_second
        self.burst = float(max(rate.burst, 1))
        self.max_entries = max_entries
        self.entries: dict[str, list[float]] = {}

    def wait(self, name: str, now: float) -> tuple[list[float], float]:
        """The bucket, refilled to ``now``, and the seconds until it has a token (0: it has one)."""
        bucket = self.entries.get(name)
        if bucket is None:
            if len(self.entries) >= self.max_entries:
                self._sweep(now)
            bucket = self.entries[name] = [self.burst, now]
        else:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        return bucket, 0.0 if bucket[0] >= 1 else (1 - bucket[0]) / self.rate

    def _sweep(self, now: float) -> None:
        full = [name for name, (tokens, at) in self.entries.items() if tokens + (now - at) * self.rate >= self.burst]
        for name in full:
            del self.entries[name]
        if len(self.entries) >= self.max_entries:  # all busy: forget the oldest rather than grow without end
            del self.entries[next(iter(self.entries))]


class InProcessRateLimiter:
    def __init__(self, per_key: Rate, per_workspace: Rate, max_entries: int = 100_000) -> None:
        self._key = None if per_key.off else _Buckets(per_key, max_entries)
        self._workspace = None if per_workspace.off else _Buckets(per_workspace, max_entries)

    @property
    def off(self) -> bool:
        return self._key is None and self._workspace is None

    async def acquire(self, key_id: str, workspace_id: str, now: float) -> float:
        taken: list[list[float]] = []
        wait = 0.0
        for buckets, name in ((self._key, key_id), (self._workspace, workspace_id)):
            if buckets is not None:
                bucket, bucket_wait = buckets.wait(name, now)
                taken.append(bucket)
                wait = max(wait, bucket_wait)
        if wait > 0:
            return wait
        for bucket in taken:
            bucket[0] -= 1
        return 0.0


def retry_after(wait: float) -> int:
    """The ``Retry-After`` header's whole seconds: rounded up, at least 1."""
    return max(1, math.ceil(wait))
