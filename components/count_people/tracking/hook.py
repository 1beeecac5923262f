"""The frame hook that tracks objects and adds line crossings and zone occupancy to every message.

Message fields (schema version 2; absent while no line / zone is configured). Coordinates are
normalised to the frame like ``boxes``; every per-class mapping holds every configured class::

    "lines": {"<name>": {
        "points": [[x1, y1], [x2, y2]],       # as configured; "in" = clockwise of first -> second
        "in": {"<class>": n}, "out": {"<class>": n},              # totals since "since"
        "in_delta": {"<class>": n}, "out_delta": {"<class>": n},  # counted since the last message
        "since": 1717000000.123}}             # epoch s when these totals started (reset / new line)
    "zones": {"<name>": {
        "polygon": [[x, y], ...],             # as configured, not closed (last point != first)
        "occupancy": {"<class>": n}}}         # tracked objects whose anchor is inside now

Totals are saved to ``state_file`` whenever they change and restored at start for every line
whose points are unchanged; changing ``counts_reset`` to a new value zeroes them once.

With ``count_from`` other than ``detections`` the message's ``count``/``counts`` are what
``counting.FrameCounter`` counts (confirmed tracks, or detections fused with track support, or
``auto``'s choice at the camera's measured rate) instead of the raw detections
(docs/content/how-to/detectors.md, "What is counted"). Every time constant is in seconds and
every frame's time is its capture time, so the tracker predicts over the real interval.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Callable

from count_people.config import Part, Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook, LoopState
from count_people.tracking.counting import FrameCounter, count_policy, tracker_params
from count_people.tracking.line_zone import LineCounter
from count_people.tracking.state import StateWriter, check_writable, read_state
from count_people.tracking.tracker import Track, Tracker
from count_people.tracking.zones import ZoneCounter

#: Keys whose change rebuilds what a message counts (the tracker's keys are Part.TRACKER's).
COUNT_KEYS = frozenset({"count_from", "count_hold_s", "count_window_s", "tracker_high_threshold", "tracker_match_iou",
                        "tracker_lost_s", "tracker_confirm_s", "threshold", "model", "params", "model_defaults"})


def per_class(counts: Counter[str], classes: Sequence[str]) -> dict[str, int]:
    return {**dict.fromkeys(classes, 0), **counts}


def count_tracks(message: dict[str, Any], counted: Counter[str], classes: Sequence[str]) -> None:
    """Replace the message's per-frame detection counts with what ``FrameCounter`` counted."""
    counts = per_class(Counter({label: n for label, n in counted.items() if label in classes}), classes)
    message["counts"] = counts
    message["count"] = counts[classes[0]]


class LinesAndZones(FrameHook):
    """Tracks, counts and persists; idle (no tracking, no fields) while nothing is configured."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self.clock = clock  # epoch seconds of ``since``: the clock the scheduled resets compare with
        self.settings = settings
        self.tracker = Tracker(tracker_params(settings))
        self.counter = self._counter(settings)
        self.lines: list[LineCounter] = []
        self.zones = [ZoneCounter(spec) for spec in settings.zones]
        self.since: dict[str, float] = {}
        #: The tracks of the latest frame and its (width, height), for features above (analytics' dwell time).
        self.tracks: list[Track] = []
        self.frame_size = (0, 0)
        self._writer: StateWriter | None = None
        saved = {}
        if settings.lines and settings.state_file:
            check_writable(settings.state_file)
            saved = read_state(settings.state_file)
        self._build_lines(settings, saved)

    def _build_lines(self, settings: Settings, saved: dict[str, Any]) -> None:
        """New counters with the totals of ``saved`` for lines whose points did not change."""
        reset = saved.get("counts_reset", settings.counts_reset) != settings.counts_reset
        previous = {} if reset else saved.get("lines", {})
        now = self.clock()
        self.lines, self.since = [], {}
        for spec in settings.lines:
            counter = LineCounter(spec, settings.tracker_lost_s)
            old = previous.get(spec.name)
            if old and [tuple(p) for p in old["points"]] == list(spec.points):
                counter.totals = {d: Counter(old[d]) for d in ("in", "out")}
                self.since[spec.name] = old["since"]
            else:
                self.since[spec.name] = now
            self.lines.append(counter)
        if settings.lines and settings.state_file:
            if self._writer is None or self._writer.path != settings.state_file:
                if self._writer is not None:
                    self._writer.close()
                self._writer = StateWriter(settings.state_file)
            if reset or previous != self._snapshot(settings)["lines"]:
                self._writer.save(self._snapshot(settings))
        elif self._writer is not None:
            self._writer.close()
            self._writer = None

    def _snapshot(self, settings: Settings) -> dict[str, Any]:
        return {
            "counts_reset": settings.counts_reset,
            "lines": {
                c.spec.name: {
                    "points": [list(p) for p in c.spec.points],
                    "since": self.since[c.spec.name],
                    **{d: dict(c.totals[d]) for d in ("in", "out")},
                }
                for c in self.lines
            },
        }

    @staticmethod
    def _counter(settings: Settings) -> FrameCounter | None:
        """None where the message's count already is the answer: detections at the detector's own threshold."""
        policy = count_policy(settings)
        (_, first), *others = policy.modes
        if not others and first.mode == "detections" and first.threshold <= settings.threshold:
            return None
        return FrameCounter(policy)

    def annotate(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        with self._lock:
            now = frame.capture_time
            classes = self.settings.classes
            if self.counter is not None:
                count_tracks(message, self.counter.count(detections, now), classes)
            if not self.lines and not self.zones:
                return
            height, width = frame.image.shape[:2]
            tracks = self.tracker.update(detections, now)
            self.tracks, self.frame_size = tracks, (width, height)
            lines, changed = {}, False
            for counter in self.lines:
                crossed = counter.update(tracks, (width, height), now)
                changed = changed or any(crossed.values())
                lines[counter.spec.name] = {
                    "points": [list(p) for p in counter.spec.points],
                    "in": per_class(counter.totals["in"], classes),
                    "out": per_class(counter.totals["out"], classes),
                    "in_delta": per_class(crossed["in"], classes),
                    "out_delta": per_class(crossed["out"], classes),
                    "since": round(self.since[counter.spec.name], 3),
                }
            if lines:
                message["lines"] = lines
            if self.zones:
                message["zones"] = {
                    zone.spec.name: {
                        "polygon": [list(p) for p in zone.spec.polygon],
                        "occupancy": zone.occupancy(tracks, (width, height), classes),
                    }
                    for zone in self.zones
                }
            if changed and self._writer is not None:
                self._writer.save(self._snapshot(self.settings))

    def reset_lines(self, before: float) -> list[str]:
        """Zero the totals of every line last reset before ``before`` (a scheduled reset, analytics/schedule.py),
        which becomes their ``since``; returns their names."""
        with self._lock:
            reset = [c for c in self.lines if self.since[c.spec.name] < before]
            for counter in reset:
                counter.totals = {"in": Counter(), "out": Counter()}
                self.since[counter.spec.name] = before
            if reset and self._writer is not None:
                self._writer.save(self._snapshot(self.settings))
        return [c.spec.name for c in reset]

    def reconfigure(self, settings: Settings) -> None:
        parts = self.settings.changed_parts(settings)
        if settings.lines and settings.state_file and settings.state_file != self.settings.state_file:
            check_writable(settings.state_file)
        with self._lock:
            if Part.TRACKER in parts:
                self.tracker = Tracker(tracker_params(settings))
            if self.settings.changed_keys(settings) & COUNT_KEYS:
                self.counter = self._counter(settings)
            if parts & {Part.TRACKER, Part.REGIONS}:  # a line counter holds tracker_lost_s
                self._build_lines(settings, self._snapshot(self.settings))
                self.zones = [ZoneCounter(spec) for spec in settings.zones]
            self.settings = settings

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def create_tracking_hooks(loop: LoopState) -> list[FrameHook]:
    """The hooks of this feature (a ``HookFactory``); always present so lines can be added live."""
    return [LinesAndZones(loop.settings)]
