"""The platform's use cases: what the server and the CLI call. Each takes an open unit of work and a
principal, checks access, and raises `PlatformError`s that the API maps to Coze codes."""

from plait.platform.access import Principal, authenticate, bootstrap
from plait.platform.errors import (
    BodyTooLarge,
    Forbidden,
    InvalidParams,
    NotFound,
    PlatformError,
    Unauthorized,
)

__all__ = [
    "BodyTooLarge",
    "Forbidden",
    "InvalidParams",
    "NotFound",
    "PlatformError",
    "Principal",
    "Unauthorized",
    "authenticate",
    "bootstrap",
]
