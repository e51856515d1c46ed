"""Tool names every chat API accepts (``^[a-zA-Z0-9_-]{1,64}$``), unique within one list: MCP servers and bot
names allow dots, spaces and any script, and a model API rejects a whole request over one bad name."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_LENGTH = 64
PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")


def safe_name(raw: str, fallback: str) -> str:
    """``raw`` with each run of other characters as one ``_``, cut to 64; ``fallback`` when nothing is left."""
    return _clean(raw) or _clean(fallback) or "tool"


def _clean(raw: str) -> str:
    return _INVALID.sub("_", raw.strip()).strip("_")[:MAX_LENGTH]


def unique_names(names: Iterable[str]) -> list[str]:
    """The names in order, a repeat suffixed ``_2``, ``_3``... (cut so it stays within 64 characters)."""
    taken: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate, number = name, 2
        while candidate in taken:
            suffix = f"_{number}"
            candidate = name[: MAX_LENGTH - len(suffix)] + suffix
            number += 1
        taken.add(candidate)
        unique.append(candidate)
    return unique
