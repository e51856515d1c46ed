"""PII masking for logs: a ``logging.Filter`` for handlers and a processor for structured (event dict) loggers.

A filter on a handler sees every record it writes, propagated ones included; a filter on a logger does not
see its children's records, hence `install` puts it on handlers."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from plait.guard.pii import mask


class PiiMaskingFilter(logging.Filter):
    """Renders the record's message once, masked; arguments are dropped so no handler formats them again."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def mask_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog-style processor: every string value of the event masked."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask(value)
    return event


def install(logger: logging.Logger | None = None) -> PiiMaskingFilter:
    """Mask what ``logger``'s handlers (the root logger's by default) write; returns the filter to remove later."""
    target = logger or logging.getLogger()
    masking = PiiMaskingFilter()
    for handler in target.handlers:
        handler.addFilter(masking)
    return masking
