"""Errors of model calls: they say which model failed and what to fix, never a bare traceback.

PlaitError
└── ModelError                 .model_id names the model
    ├── UnknownModelError      no provider or model by that id
    ├── ModelConfigError       a missing key, a bad base URL, a missing extra: fix the settings
    └── ProviderError          the provider answered with an error or could not be reached
        ├── AuthenticationError     401/403: the key is wrong or lacks access
        ├── BadRequestError         other 4xx: the request itself is wrong (not retried)
        ├── RateLimitError          429: retried after Retry-After
        └── ProviderUnavailable     5xx, timeouts, connection errors: retried with backoff
"""

from __future__ import annotations

from plait.schema import PlaitError


class ModelError(PlaitError):
    def __init__(self, model_id: str, message: str) -> None:
        super().__init__(f"{model_id}: {message}")
        self.model_id = model_id


class UnknownModelError(ModelError):
    pass


class ModelConfigError(ModelError):
    pass


class ProviderError(ModelError):
    """The provider failed. ``status`` is the HTTP status when there was one; ``retryable`` says whether
    trying again (or another model in a fallback chain) can help."""

    retryable = False

    def __init__(
        self,
        model_id: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(model_id, message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    pass


class BadRequestError(ProviderError):
    pass


class RateLimitError(ProviderError):
    retryable = True


class ProviderUnavailable(ProviderError):
    retryable = True


def error_for_status(
    model_id: str, status: int, message: str, *, code: str | None = None, retry_after: float | None = None
) -> ProviderError:
    """The typed error for an HTTP error status from a provider."""
    kind: type[ProviderError]
    if status in (401, 403):
        kind = AuthenticationError
        message = f"{message} (check the provider's API key)"
    elif status == 429:
        kind = RateLimitError
    elif status >= 500 or status == 408:
        kind = ProviderUnavailable
    else:
        kind = BadRequestError
    return kind(model_id, f"HTTP {status}: {message}", status=status, code=code, retry_after=retry_after)
