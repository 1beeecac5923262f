"""Scheduled resets at local wall-clock times (``reset_at`` in ``timezone``), correct across DST changes.

The schedule is a set of instants: for every local date, each configured ``HH:MM`` (and weekday) is turned
into one instant with ``zoneinfo`` and PEP 495's ``fold=0``. So a time in the hour skipped in spring
(02:30 in Europe/Berlin) falls one gap length later (03:30 summer time) and a time in the hour repeated in
autumn happens once, at its first occurrence; every day has exactly one instant per configured time.

Counters keep when they were last zeroed (``since``); whatever started before the latest instant at or
before now is reset. That one rule covers a reset while running and one missed while the counter was
stopped (applied at start), and never resets twice.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from count_people.config import ResetTime


@dataclass(frozen=True)
class ScheduleConfig:
    times: tuple[ResetTime, ...]
    timezone: str = "UTC"


class ResetSchedule:
    """The instants (epoch seconds) of a ``ScheduleConfig``; ``latest`` is cheap between instants."""

    def __init__(self, config: ScheduleConfig) -> None:
        self.config = config
        self.zone = zoneinfo.ZoneInfo(config.timezone)
        self._window: tuple[float, float] | None = None  # (latest instant, next instant) around the last call

    def _instants(self, around: float) -> list[float]:
        """Every instant of the local dates from 8 days before to 8 days after ``around`` (a weekly time too)."""
        today = dt.datetime.fromtimestamp(around, self.zone).date()
        instants = []
        for offset in range(-8, 9):
            day = today + dt.timedelta(days=offset)
            for weekday, hour, minute in self.config.times:
                if weekday is None or weekday == day.weekday():
                    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone, fold=0)
                    instants.append(local.timestamp())
        return sorted(instants)

    def latest(self, now: float) -> float | None:
        """The latest reset instant at or before ``now``, None without a schedule."""
        if not self.config.times:
            return None
        window = self._window
        if window is None or not window[0] <= now < window[1]:
            instants = self._instants(now)
            before = [t for t in instants if t <= now]
            after = [t for t in instants if t > now]
            window = self._window = (before[-1], after[0])
        return window[0]
