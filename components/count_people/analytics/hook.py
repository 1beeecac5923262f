"""Analytics riding along the counting loop: the process-wide service and each camera's hooks.

``Analytics`` is a service of ``MultiCameraLoop`` (areas may have doors on several cameras) whose
``create_hooks`` gives each camera, in this order: the scheduled reset (before the frame is counted),
the tracking hook (lines, zones) and the camera's analytics (areas, dwell time, events) reading what the
tracking hook counted. Message fields added (schema 3 of message.schema.json)::

    "areas": {"<name>": {"occupancy": {"<class>": n}, "clamped": {"<class>": n}, "since": epoch s}}
    "zones": {"<name>": {..., "dwell": {"inside": n, "longest_current_s": s, "completed_s": [s, ...]}}}
    "events": [<event>, ...]   # only in a frame that raised or cleared one (analytics/events.py)
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from count_people.analytics.areas import Areas, AreasConfig, areas_state_file
from count_people.analytics.dwell import DwellConfig, ZoneDwell
from count_people.analytics.events import EventConfig, Threshold, event_message
from count_people.analytics.schedule import ResetSchedule, ScheduleConfig
from count_people.config import Part, Settings, events_topic
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook, LoopState
from count_people.tracking.hook import LinesAndZones, per_class

log = logging.getLogger("count_people.analytics")

#: QoS of threshold events whatever ``qos`` says: an alert must not be dropped while offline (PublishToIoTCore's
#: "1" is AT_LEAST_ONCE, which the nucleus spools: aws-greengrass-nucleus v2.18.2
#: src/main/java/com/aws/greengrass/builtin/services/mqttproxy/MqttProxyIPCAgent.java:300-301).
EVENT_QOS = 1
#: What a change rebuilds a camera's visits and zone thresholds for: their own keys, zones, tracker_lost_s.
REBUILDS = frozenset({Part.ANALYTICS, Part.REGIONS, Part.TRACKER})


@dataclass(frozen=True)
class AnalyticsConfig:
    schedule: ScheduleConfig
    areas: AreasConfig
    dwell: DwellConfig
    events: EventConfig


def analytics_config(settings: Settings) -> AnalyticsConfig:
    """The typed configuration of every analytics feature, from Settings (the one place that reads them)."""
    return AnalyticsConfig(
        schedule=ScheduleConfig(settings.reset_at, settings.timezone),
        areas=AreasConfig(settings.areas, areas_state_file(settings.state_file)),
        dwell=DwellConfig(settings.tracker_lost_s),
        events=EventConfig(settings.event_min_duration, settings.event_hysteresis),
    )


class Analytics(FrameHook):
    """Areas, the reset schedule and area thresholds, shared by every camera; ``create_hooks`` is the factory."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.Lock()  # area thresholds: any camera's frame may advance them
        self._build(analytics_config(settings))

    def _build(self, config: AnalyticsConfig) -> None:
        self.config = config
        self.schedule = ResetSchedule(config.schedule)
        self.areas = Areas(config.areas, now=self.clock())
        self.area_thresholds = {spec.name: Threshold("area", spec.name, "max_occupancy", spec.max_occupancy,
                                                     config.events)
                                for spec in config.areas.areas if spec.max_occupancy}

    def create_hooks(self, loop: LoopState) -> list[FrameHook]:
        tracking = LinesAndZones(loop.settings, self.clock)
        return [ScheduledReset(self, tracking, loop.settings.camera_id), tracking,
                CameraAnalytics(self, tracking, loop)]

    def area_events(self, camera_areas: Sequence[str], now: float) -> list[dict[str, Any]]:
        """Advance the thresholds of ``camera_areas`` (checked from every camera with a door of theirs)."""
        events = []
        with self.lock:
            for name in camera_areas:
                threshold = self.area_thresholds.get(name)
                counter = self.areas.counters.get(name)
                if threshold and counter and (event := threshold.update(counter.total(), now)):
                    events.append(event)
        return events

    def reconfigure(self, settings: Settings) -> None:
        config = analytics_config(settings)
        if (config.schedule, config.areas, config.events) == (self.config.schedule, self.config.areas,
                                                              self.config.events):
            self.config = config
            return
        with self.lock:
            self.areas.close()  # flushes what the new Areas reads back
            self._build(config)

    def close(self) -> None:
        self.areas.close()


class ScheduledReset(FrameHook):
    """Zeroes the camera's line totals and the areas at each ``reset_at``, before a frame is counted, and at
    start when a reset was missed while the counter was stopped (``since`` older than the latest instant)."""

    def __init__(self, analytics: Analytics, tracking: LinesAndZones, camera_id: str) -> None:
        self.analytics, self.tracking, self.camera_id = analytics, tracking, camera_id
        self.applied: float | None = None
        self.apply(analytics.clock())

    def apply(self, now: float) -> None:
        latest = self.analytics.schedule.latest(now)
        if latest is None or latest == self.applied:
            return
        self.applied = latest
        lines, areas = self.tracking.reset_lines(latest), self.analytics.areas.reset_before(latest)
        if lines or areas:
            log.info("%s: scheduled reset of %s (due %s)", self.camera_id,
                     ", ".join([*(f"line {n}" for n in lines), *(f"area {n}" for n in areas)]),
                     time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(latest)))

    def annotate(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        self.apply(self.analytics.clock())


class CameraAnalytics(FrameHook):
    """One camera's areas, dwell time and events, from what its tracking hook counted in this frame."""

    def __init__(self, analytics: Analytics, tracking: LinesAndZones, loop: LoopState) -> None:
        self.analytics, self.tracking, self.loop = analytics, tracking, loop
        self._build(loop.settings)

    def _build(self, settings: Settings) -> None:
        config = analytics_config(settings)
        self.settings = settings
        self.dwell = {spec.name: ZoneDwell(spec, config.dwell) for spec in settings.zones}
        self.thresholds: list[tuple[Threshold, str]] = []
        for spec in settings.zones:
            if spec.max_occupancy:
                self.thresholds.append((Threshold("zone", spec.name, "max_occupancy", spec.max_occupancy,
                                                  config.events), "occupancy"))
            if spec.max_dwell_s:
                self.thresholds.append((Threshold("zone", spec.name, "max_dwell_s", spec.max_dwell_s,
                                                  config.events), "dwell"))

    def annotate(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        now, settings = self.analytics.clock(), self.settings
        camera, lines = settings.camera_id, message.get("lines", {})
        areas = self.analytics.areas
        if lines:
            areas.add_crossings(camera, lines)
        mine = areas.of_camera(camera, [spec.name for spec in settings.lines])
        if mine:
            message["areas"] = {c.spec.name: {"occupancy": per_class(c.occupancy, settings.classes),
                                              "clamped": per_class(c.clamped, settings.classes),
                                              "since": round(c.since, 3)} for c in mine}
        events = self._zone_events(frame, message.get("zones", {}), now)
        events += self.analytics.area_events([c.spec.name for c in mine], now)
        if events:
            message["events"] = events
            self._publish(events)

    def _zone_events(self, frame: Frame, zones: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """Dwell fields of every zone, then the zone thresholds they and the occupancy advance."""
        values: dict[tuple[str, str], float] = {}
        for name, dwell in self.dwell.items():
            completed = dwell.update(self.tracking.tracks, self.tracking.frame_size, frame.capture_time)
            current = dwell.current(frame.capture_time)
            longest = round(max(current, default=0.0), 1)
            if name in zones:
                zones[name]["dwell"] = {"inside": len(current), "longest_current_s": longest,
                                        "completed_s": [round(d, 1) for d in completed]}
                values[name, "occupancy"] = sum(zones[name]["occupancy"].values())
            values[name, "dwell"] = longest
        events = []
        for threshold, kind in self.thresholds:
            value = values.get((threshold.name, kind))
            if value is not None and (event := threshold.update(value, now)):
                events.append(event)
        return events

    def _publish(self, events: list[dict[str, Any]]) -> None:
        settings, publisher = self.settings, self.loop.publisher
        topic = events_topic(settings.topic.format(thing=settings.thing_name, camera=settings.camera_id))
        for event in events:
            log.info("%s: %s %s of %s %s (%s, threshold %s)", settings.camera_id, event["state"], event["rule"],
                     event["region"], event["name"], event["value"], event["threshold"])
            payload = json.dumps(event_message(event, settings.camera_id, settings.thing_name),
                                 separators=(",", ":")).encode()
            publisher.publish(topic, payload, qos=EVENT_QOS)

    def reconfigure(self, settings: Settings) -> None:
        if self.settings.changed_parts(settings) & REBUILDS:
            self._build(settings)  # visits and pending events start over with the new zones
        self.settings = settings
