"""The unit of work the faces open per request and pass to use cases; the store implements it, and the faces
reach it only through here, so no face depends on the store."""

from plait.store import UnitOfWork
from plait.store.base import now

__all__ = ["UnitOfWork", "now"]
