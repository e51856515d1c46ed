"""Retrying provider calls: exponential backoff with jitter on 429, 5xx and connection errors,
honouring the provider's Retry-After."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from plait.models.errors import ProviderError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetrySettings:
    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.retryable


def _wait(settings: RetrySettings) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=settings.initial_delay, max=settings.max_delay)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return min(error.retry_after, settings.max_delay)
        return float(backoff(state))

    return wait


async def with_retries(settings: RetrySettings, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call``, retrying retryable provider errors; the last error is raised as it is."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=_wait(settings),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")
