"""Masks credentials in log events: API keys (``pat_…``, ``sk-…``), bearer tokens, and the values of fields
named like secrets, in messages, tracebacks and fields alike. A log line is read by more people than the
key's owner, and a leaked key works until someone revokes it."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

MASK = "***"
SECRET_NAME = re.compile(
    r"(?i)^(?:.*[_-])?((?:api|secret|private|access)[_-]?key|secret|password|passwd|token|authorization|credentials?|cookie)$"
)
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(pat|sk|sk-proj|sk-ant|AIza)[_-][A-Za-z0-9_-]{8,}"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"),
    # name=value, name: value, "name": "value" for secret-like names
    re.compile(
        r"(?i)([\"']?\b[\w-]*(?:api[_-]?key|secret|password|passwd|token|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',;&}]{4,})"
    ),
)


def _replace(match: re.Match[str]) -> str:
    if match.re is _PATTERNS[0]:
        return f"{match.group(1)} {MASK}"
    if match.re is _PATTERNS[3]:
        return match.group(1) + MASK
    return MASK


def mask_secrets(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(_replace, text)
    return text


def mask_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: fields named like secrets are masked whole, other strings for what they hold."""
    for key, value in event.items():
        if value is not None and SECRET_NAME.match(key):
            event[key] = MASK
        elif isinstance(value, str):
            event[key] = mask_secrets(value)
    return event
