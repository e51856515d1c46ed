"""Domain errors of the platform, each with a stable Coze-style code the API puts in its envelope.

PlatformError (code, msg)  5000 by itself: a bug; the message is generic, the log has the details
├── InvalidParams     4000  the request is wrong: a field, a value, a model id
├── BodyTooLarge      4001  the body is over ``max_body_bytes``
├── Unauthorized      4100  no token, or a token that is unknown, revoked or expired
├── Forbidden         4101  the caller's role may not do this (a viewer writing)
├── NotFound          4200  no such object *in the caller's workspace* (never "exists elsewhere")
├── ChatNotCancelable 4104  the chat already ended
├── RateLimited       4013  the caller's key or workspace is over its request rate (429, Retry-After)
└── Busy              5003  no database connection came free in time: the process is overloaded (503, Retry-After)
"""

from __future__ import annotations

from typing import ClassVar

# The store's signal of a process past its database connections, re-exported for the faces to answer as Busy.
from plait.store import DatabaseBusy as DatabaseBusy


class PlatformError(Exception):
    code: ClassVar[int] = 5000
    http_status: ClassVar[int] = 500

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg

    def headers(self) -> dict[str, str]:
        """HTTP headers the response carries besides the envelope."""
        return {}


class InvalidParams(PlatformError):
    code = 4000
    http_status = 400


class BodyTooLarge(PlatformError):
    code = 4001
    http_status = 413


class Unauthorized(PlatformError):
    code = 4100
    http_status = 401


class Forbidden(PlatformError):
    code = 4101
    http_status = 403


class NotFound(PlatformError):
    code = 4200
    http_status = 404


class ChatNotCancelable(PlatformError):
    code = 4104
    http_status = 400


class RateLimited(PlatformError):
    code = 4013
    http_status = 429

    def __init__(self, msg: str, retry_after: int) -> None:
        super().__init__(msg)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Busy(PlatformError):
    code = 5003
    http_status = 503

    @classmethod
    def of(cls, error: DatabaseBusy) -> Busy:
        return cls(f"the server is busy ({error}); retry shortly")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}
