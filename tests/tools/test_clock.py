"""The clock tool: a fixed instant seen from several zones, and refusals of zones that do not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plait.components import Tool
from plait.tools.clock import Clock, time_in, utc_now
from plait.tools.errors import InvalidArguments

INSTANT = datetime(2024, 3, 10, 1, 30, 15, tzinfo=UTC)  # a Sunday in UTC; the US changes to DST later that day


def fixed() -> datetime:
    return INSTANT


async def test_utc_by_default() -> None:
    assert await Clock(fixed).call({}) == {
        "timezone": "UTC",
        "iso": "2024-03-10T01:30:15+00:00",
        "date": "2024-03-10",
        "weekday": "Sunday",
        "utc_offset": "+00:00",
        "unix": 1710034215,
    }


@pytest.mark.parametrize(
    ("zone", "iso", "weekday"),
    [
        ("Asia/Shanghai", "2024-03-10T09:30:15+08:00", "Sunday"),
        ("America/Los_Angeles", "2024-03-09T17:30:15-08:00", "Saturday"),
        ("Asia/Kolkata", "2024-03-10T07:00:15+05:30", "Sunday"),
        ("  Europe/Paris ", "2024-03-10T02:30:15+01:00", "Sunday"),
    ],
)
async def test_an_instant_in_other_zones(zone: str, iso: str, weekday: str) -> None:
    seen = await Clock(fixed).call({"timezone": zone})
    assert (seen["iso"], seen["weekday"], seen["unix"]) == (iso, weekday, 1710034215)
    assert seen["timezone"] == zone.strip()


def test_daylight_saving_changes_the_offset() -> None:
    after = INSTANT + timedelta(hours=12)
    assert time_in(INSTANT, "America/New_York")["utc_offset"] == "-05:00"
    assert time_in(after, "America/New_York")["utc_offset"] == "-04:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Europe/", "UTC\x00"])
async def test_unknown_zones_are_a_clear_error(zone: str) -> None:
    with pytest.raises(InvalidArguments, match="unknown IANA time zone") as caught:
        await Clock(fixed).call({"timezone": zone})
    assert caught.value.fields == ["timezone"]


@pytest.mark.parametrize("bad", [{"timezone": 5}, {"timezone": ""}, {"timezone": "   "}])
async def test_a_timezone_that_is_not_a_name_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidArguments, match="timezone"):
        await Clock(fixed).call(bad)


async def test_a_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await Clock(lambda: datetime(2024, 1, 1)).call({})


async def test_the_real_clock_is_now() -> None:
    clock = Clock()
    assert isinstance(clock, Tool) and clock.spec.name == "current_time"
    seen = await clock.call({"timezone": "UTC"})
    assert abs(seen["unix"] - utc_now().timestamp()) < 5
