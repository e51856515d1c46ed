"""Per-node timeouts and retry policies, applied by wrapping a node only when it has one."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Retry a failed node with exponential backoff and full jitter.

    ``retry_on`` is a tuple of exception types or a predicate. Interrupts and cancellation are never retried.
    """

    max_attempts: int = 3
    initial_delay: float = 0.1
    backoff: float = 2.0
    max_delay: float = 10.0
    jitter: bool = True
    retry_on: tuple[type[BaseException], ...] | Callable[[BaseException], bool] = (Exception,)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.backoff < 1:
            raise ValueError("RetryPolicy delays must be >= 0 and backoff >= 1")

    def should_retry(self, error: BaseException) -> bool:
        if isinstance(self.retry_on, tuple):
            return isinstance(error, self.retry_on)
        return self.retry_on(error)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.backoff ** (attempt - 1))
        return random.uniform(0, base) if self.jitter else base


async def with_retry(
    policy: RetryPolicy, call: Callable[[], Awaitable[T]], never_retry: tuple[type[BaseException], ...]
) -> T:
    attempt = 1
    while True:
        try:
            return await call()
        except never_retry:
            raise
        except Exception as exc:
            if attempt >= policy.max_attempts or not policy.should_retry(exc):
                raise
        await asyncio.sleep(policy.delay(attempt))
        attempt += 1


async def with_timeout(seconds: float, call: Callable[[], Awaitable[T]], on_timeout: Callable[[], Any]) -> T:
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await call()
    except TimeoutError:
        if deadline.expired():
            raise on_timeout() from None
        raise
