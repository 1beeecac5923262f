"""Capacity and dwell events: a message when a value goes over its threshold, another when it is back.

A store manager's alerting hangs on these, so they must neither storm nor miss: a threshold is *raised*
once the value has stayed above it for ``min_duration`` seconds, and *cleared* once it has stayed at or
below ``(1 - hysteresis) * threshold`` for ``min_duration`` seconds. Flicker around the threshold within
that time changes nothing. Events go to ``<topic>/events`` at QoS 1 in every publishing mode (they bypass
the cadence), and ride in the frame's message as ``events`` for /metrics, InfluxDB and the live view.

Event message (schema/event.schema.json)::

    {"schema": 1, "kind": "event", "camera_id": ..., "thing_name": ..., "time": epoch s,
     "state": "raised" | "cleared", "rule": "max_occupancy" | "max_dwell_s",
     "region": "zone" | "area", "name": ..., "value": n, "threshold": n, "raised_at": epoch s}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVENT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class EventConfig:
    #: Seconds a crossing (or a return) must last before it is reported.
    min_duration: float = 5.0
    #: The value clears at or below ``(1 - hysteresis) * threshold``.
    hysteresis: float = 0.1


class Threshold:
    """One watched value (a zone's occupancy, an area's, a zone's longest current visit)."""

    def __init__(self, region: str, name: str, rule: str, threshold: float, config: EventConfig) -> None:
        self.region, self.name, self.rule, self.threshold, self.config = region, name, rule, threshold, config
        self.raised_at: float | None = None
        self._pending_since: float | None = None  # when the value first pointed the other way

    def update(self, value: float, now: float) -> dict[str, Any] | None:
        """The event this value at ``now`` completes (state, rule, region, name, ...), or None."""
        raised = self.raised_at is not None
        towards_other = value <= self.threshold * (1 - self.config.hysteresis) if raised else value > self.threshold
        if not towards_other:
            self._pending_since = None
            return None
        if self._pending_since is None:
            self._pending_since = now
        if now - self._pending_since < self.config.min_duration:
            return None
        self._pending_since = None
        raised_at = self.raised_at if raised else now
        self.raised_at = None if raised else now
        return {"time": round(now, 3), "state": "cleared" if raised else "raised", "rule": self.rule,
                "region": self.region, "name": self.name, "value": value, "threshold": self.threshold,
                "raised_at": round(raised_at, 3)}


def event_message(event: dict[str, Any], camera_id: str, thing_name: str) -> dict[str, Any]:
    """The message published on the events topic."""
    return {"schema": EVENT_SCHEMA_VERSION, "kind": "event", "camera_id": camera_id, "thing_name": thing_name,
            **event}
