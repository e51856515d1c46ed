"""Documents: the unit that loaders produce, splitters cut, indexers store and retrievers return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, kw_only=True)
class Document:
    id: str = ""
    content: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    vector: list[float] | None = None
