"""Scheduled resets in local time: one per day across DST changes, and one missed while stopped applied at start."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from count_people.analytics.hook import Analytics
from count_people.analytics.schedule import ResetSchedule, ScheduleConfig
from count_people.config import Settings
from count_people.errors import UserError
from scripted_analytics import Camera, Clock, analytics_settings

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc


def at(text: str, zone: dt.tzinfo = UTC) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def schedule(times: str, zone: str = "Europe/Berlin") -> ResetSchedule:
    settings = Settings().updated({"reset_at": times, "timezone": zone})
    return ResetSchedule(ScheduleConfig(settings.reset_at, settings.timezone))


def instants(reset: ResetSchedule, start: float, stop: float, step: float = 300.0) -> list[float]:
    """The distinct latest-reset instants seen by a counter checking every ``step`` seconds."""
    seen: list[float] = []
    now = start
    while now <= stop:
        latest = reset.latest(now)
        if latest is not None and latest >= start and latest not in seen:
            seen.append(latest)
        now += step
    return seen


def test_a_reset_in_the_hour_skipped_in_spring_happens_once_when_the_clocks_have_jumped():
    # 2026-03-29 02:00 CET: clocks jump to 03:00 CEST; 02:30 does not exist that day.
    reset = schedule("02:30")
    seen = instants(reset, at("2026-03-28T00:00"), at("2026-03-31T00:00"))
    assert seen == [at("2026-03-28T01:30"), at("2026-03-29T01:30"), at("2026-03-30T00:30")]
    assert dt.datetime.fromtimestamp(seen[1], BERLIN).strftime("%H:%M %Z") == "03:30 CEST"


def test_a_reset_in_the_hour_repeated_in_autumn_happens_once_at_its_first_occurrence():
    # 2026-10-25 03:00 CEST: clocks go back to 02:00 CET; 02:30 happens twice that day.
    reset = schedule("02:30")
    seen = instants(reset, at("2026-10-24T00:00"), at("2026-10-27T00:00"))
    assert seen == [at("2026-10-24T00:30"), at("2026-10-25T00:30"), at("2026-10-26T01:30")]
    assert reset.latest(at("2026-10-25T01:45")) == at("2026-10-25T00:30"), "not again at 02:30 CET"


def test_weekly_and_several_times_a_day():
    reset = schedule("sun 04:00, 12:00", "UTC")
    seen = instants(reset, at("2026-12-05T00:00"), at("2026-12-07T00:00"))  # Saturday and Sunday
    assert seen == [at("2026-12-05T12:00"), at("2026-12-06T04:00"), at("2026-12-06T12:00")]
    assert schedule("", "UTC").latest(at("2026-12-05T00:00")) is None


def test_line_totals_reset_once_through_the_repeated_hour(tmp_path):
    clock = Clock(at("2026-10-25T00:00"))  # 02:00 CEST
    analytics = Analytics(analytics_settings(tmp_path, reset_at="02:30", timezone="Europe/Berlin"), clock)
    camera = Camera(analytics, analytics_settings(tmp_path, reset_at="02:30", timezone="Europe/Berlin"))
    crossed = camera.walk(list(range(200, 460, 20)))
    assert crossed[-1]["lines"]["door"]["in"] == {"person": 1}
    sinces = set()
    for minutes in range(10, 200, 10):  # 02:10 CEST .. 04:10 CET, a frame every 10 minutes
        clock.now = at("2026-10-25T00:00") + minutes * 60
        message = camera.frame([])
        sinces.add(message["lines"]["door"]["since"])
        if minutes == 40:  # just after the first 02:30: zeroed; cross again
            assert message["lines"]["door"]["in"] == {"person": 0}
            camera.walk(list(range(460, 200, -20)))
    assert message["lines"]["door"]["out"] == {"person": 1}, "the second 02:30 (CET) did not reset again"
    assert len(sinces - {crossed[-1]["lines"]["door"]["since"]}) == 1
    camera.close()
    analytics.close()


def test_a_restart_spanning_the_reset_time_applies_it_at_start(tmp_path):
    settings = analytics_settings(tmp_path, reset_at="04:00", timezone="Europe/Berlin",
                                  areas={"shop": {"doors": ["door"]}})
    clock = Clock(at("2026-12-04T01:00"))  # 02:00 local
    analytics = Analytics(settings, clock)
    camera = Camera(analytics, settings)
    assert camera.walk(list(range(200, 460, 20)))[-1]["areas"]["shop"]["occupancy"] == {"person": 1}
    camera.close()
    analytics.close()

    clock.now = at("2026-12-04T02:30")  # 03:30 local: restarted before the reset time, totals kept
    analytics = Analytics(settings, clock)
    camera = Camera(analytics, settings)
    message = camera.frame([])
    assert message["lines"]["door"]["in"] == {"person": 1} and message["areas"]["shop"]["occupancy"] == {"person": 1}
    camera.close()
    analytics.close()

    clock.now = at("2026-12-04T05:00")  # stopped across 04:00 local: the missed reset is applied at start
    analytics = Analytics(settings, clock)
    camera = Camera(analytics, settings)
    message = camera.frame([])
    assert message["lines"]["door"]["in"] == {"person": 0} and message["areas"]["shop"]["occupancy"] == {"person": 0}
    assert message["lines"]["door"]["since"] == message["areas"]["shop"]["since"] == at("2026-12-04T03:00")
    camera.close()
    analytics.close()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"reset_at": "25:00"}, "bad value for reset_at: expected \"HH:MM\""),
    ({"reset_at": "someday 04:00"}, "bad value for reset_at"),
    ({"timezone": "Mars/Olympus"}, "bad value for timezone: 'Mars/Olympus' is not an IANA time zone"),
])
def test_bad_schedules_are_one_line_errors(changes, expected):
    with pytest.raises(UserError, match=expected.replace("(", r"\(")) as error:
        Settings().updated(changes)
    assert "\n" not in str(error.value)
