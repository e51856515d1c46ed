"""A current-time tool: models do not know what time it is, and guessing it from training data is wrong."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from plait.schema import ToolSpec
from plait.tools.errors import InvalidArguments

Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def time_in(moment: datetime, timezone: str | None = None, *, tool: str = "current_time") -> dict[str, Any]:
    """``moment`` (timezone-aware) as seen in an IANA time zone, UTC by default."""
    zone = _zone(timezone or "UTC", tool)
    local = moment.astimezone(zone)
    return {
        "timezone": str(zone),
        "iso": local.isoformat(timespec="seconds"),
        "date": local.date().isoformat(),
        "weekday": local.strftime("%A"),
        "utc_offset": local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:],
        "unix": int(local.timestamp()),
    }


def _zone(name: str, tool: str) -> zoneinfo.ZoneInfo:
    """The zone, or InvalidArguments: unknown names, and paths such as '../etc/passwd', are both refused."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        problem = f"unknown IANA time zone {name!r}; use a name such as 'Europe/Paris' or 'Asia/Shanghai'"
        raise InvalidArguments(tool, [("timezone", problem)]) from exc


class Clock:
    """The current time as a tool; ``now`` is injectable so tests and replays get a fixed time."""

    def __init__(self, now: Now = utc_now, *, name: str = "current_time") -> None:
        self.now = now
        self.spec = ToolSpec(
            name=name,
            description="The current date and time (ISO 8601), weekday and Unix timestamp in a time zone.",
            parameters={
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "An IANA time zone such as 'Europe/Paris'; UTC when left out.",
                    }
                },
                "required": [],
            },
        )

    async def call(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        timezone = arguments.get("timezone")
        if timezone is not None and (not isinstance(timezone, str) or not timezone.strip()):
            raise InvalidArguments(self.spec.name, [("timezone", "must be a non-empty string when given")])
        moment = self.now()
        if moment.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return time_in(moment, timezone.strip() if timezone else None, tool=self.spec.name)
