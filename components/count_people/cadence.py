"""How often the publisher gets a message: every frame, on change with a heartbeat, or interval summaries.

IoT Core bills every message, and nobody needs boxes five times a second in the cloud, so the
Greengrass component defaults to summaries (docs/content/how-to/publishing.md). Only what goes to the
configured publisher is thinned: the frame hooks (metrics, live view, InfluxDB) still see every frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from count_people.config import Settings
from count_people.stats import distribution

#: Interval summaries (schema/summary.schema.json); per-frame messages are schema 3 (message.py).
#: 4: optional ``areas`` and each zone's ``dwell`` (count_people/analytics).
SUMMARY_SCHEMA_VERSION = 4

class Cadence(ABC):
    """Turns the stream of per-frame messages into what is published."""

    @abstractmethod
    def offer(self, message: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """The messages to publish after this frame (often none); ``now`` is monotonic seconds."""

    def flush(self, now: float) -> list[dict[str, Any]]:
        """What is still owed at shutdown."""
        return []


class EveryFrame(Cadence):
    def offer(self, message: dict[str, Any], now: float) -> list[dict[str, Any]]:
        return [message]


def _state(message: dict[str, Any]) -> tuple:
    """What 'changed' means: the counts, every line's totals, every zone's occupancy and completed visits,
    every area's occupancy, and events (a frame that completed a visit or raised one is always sent)."""
    lines = {name: (line["in"], line["out"]) for name, line in message.get("lines", {}).items()}
    zones = {name: (zone["occupancy"], zone.get("dwell", {}).get("completed_s"))
             for name, zone in message.get("zones", {}).items()}
    areas = {name: area["occupancy"] for name, area in message.get("areas", {}).items()}
    return repr(message["counts"]), repr(lines), repr(zones), repr(areas), repr(message.get("events"))


class OnChange(Cadence):
    """A message when the counts, line totals, zone or area occupancy changed, else one per ``heartbeat`` s.

    Line deltas cannot be lost: a frame with a crossing changes the totals, so it is always sent.
    """

    def __init__(self, heartbeat: float) -> None:
        self.heartbeat = heartbeat
        self._last_state: tuple | None = None
        self._last_sent = float("-inf")

    def offer(self, message: dict[str, Any], now: float) -> list[dict[str, Any]]:
        state = _state(message)
        if state == self._last_state and now - self._last_sent < self.heartbeat:
            return []
        self._last_state, self._last_sent = state, now
        return [message]


class Summary(Cadence):
    """One message per ``interval`` seconds: count min / max / mean per class, line deltas summed and the
    latest totals, zone and area occupancy now and at most, the visits each zone completed (count, mean, p50,
    p90, histogram in ``buckets``), frames and frame rate (schema/summary.schema.json)."""

    def __init__(self, interval: float, buckets: tuple[float, ...] = (30.0, 120.0, 600.0)) -> None:
        self.interval = interval
        self.buckets = buckets
        self._reset(None)

    def _reset(self, now: float | None) -> None:
        self._start: float | None = now
        self._frames = 0
        self._first: dict[str, Any] | None = None
        self._last: dict[str, Any] = {}
        self._counts: dict[str, list[int]] = {}
        self._line_deltas: dict[str, dict[str, dict[str, int]]] = {}
        self._zone_max: dict[str, dict[str, int]] = {}
        self._area_max: dict[str, dict[str, int]] = {}
        self._visits: dict[str, list[float]] = {}

    def offer(self, message: dict[str, Any], now: float) -> list[dict[str, Any]]:
        if self._start is None:
            self._reset(now)
            self._first = message
        self._frames += 1
        self._last = message
        for label, count in message["counts"].items():
            low, high, total = self._counts.get(label, (count, count, 0))
            self._counts[label] = [min(low, count), max(high, count), total + count]
        for name, line in message.get("lines", {}).items():
            sums = self._line_deltas.setdefault(name, {"in": {}, "out": {}})
            for direction in ("in", "out"):
                for label, n in line[f"{direction}_delta"].items():
                    sums[direction][label] = sums[direction].get(label, 0) + n
        for field, peaks in (("zones", self._zone_max), ("areas", self._area_max)):
            for name, region in message.get(field, {}).items():
                peak = peaks.setdefault(name, {})
                for label, n in region["occupancy"].items():
                    peak[label] = max(peak.get(label, 0), n)
        for name, zone in message.get("zones", {}).items():
            if "dwell" in zone:
                self._visits.setdefault(name, []).extend(zone["dwell"]["completed_s"])
        if now - self._start < self.interval:
            return []
        return self._emit(now)

    def flush(self, now: float) -> list[dict[str, Any]]:
        return self._emit(now) if self._frames else []

    def _emit(self, now: float) -> list[dict[str, Any]]:
        first, last, frames = self._first or self._last, self._last, self._frames
        elapsed = max(now - (self._start or now), 1e-9)
        summary: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA_VERSION,
            "kind": "summary",
            "camera_id": last["camera_id"],
            "thing_name": last["thing_name"],
            "start_time": first["capture_time"],
            "end_time": last["capture_time"],
            "frames": frames,
            "fps": round(frames / elapsed, 3),
            "label": last["label"],
            "counts": {
                label: {"min": low, "max": high, "mean": round(total / frames, 3)}
                for label, (low, high, total) in self._counts.items()
            },
            "model": last["model"],
        }
        if "lines" in last:
            summary["lines"] = {
                name: {
                    "in": line["in"], "out": line["out"], "since": line["since"],
                    "in_delta": self._line_deltas.get(name, {}).get("in", {}),
                    "out_delta": self._line_deltas.get(name, {}).get("out", {}),
                }
                for name, line in last["lines"].items()
            }
        if "zones" in last:
            summary["zones"] = {
                name: {"occupancy": zone["occupancy"], "occupancy_max": self._zone_max.get(name, {}), **(
                    {"dwell": {**distribution(self._visits.get(name, []), self.buckets), "buckets": list(self.buckets),
                               "longest_current_s": zone["dwell"]["longest_current_s"]}} if "dwell" in zone else {})}
                for name, zone in last["zones"].items()
            }
        if "areas" in last:
            summary["areas"] = {
                name: {**area, "occupancy_max": self._area_max.get(name, {})} for name, area in last["areas"].items()
            }
        if "dropped" in last:
            summary["dropped"] = last["dropped"]
        self._reset(None)
        return [summary]


def create_cadence(settings: Settings) -> Cadence:
    """The cadence that ``settings.publish_mode`` names."""
    if settings.publish_mode == "summary":
        return Summary(settings.summary_interval, settings.dwell_buckets)
    if settings.publish_mode == "on_change":
        return OnChange(settings.heartbeat_interval)
    return EveryFrame()
