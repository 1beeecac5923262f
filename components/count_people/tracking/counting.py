"""What a message's count is (``count_from``): this frame's detections, confirmed tracks, or both fused.

* ``detections``: boxes scoring at least ``threshold``.
* ``smoothed``: the same, its count the median over the last ``window_s`` seconds (below).
* ``tracks``: confirmed tracks matched in this frame (weak boxes that continue a track included) or
  unseen for at most ``hold_s``; a one-frame false positive never counts, and neither does anyone
  in the first ``confirm_s`` after they appear.
* ``fused``: detections smoothed by track support: every box scoring at least ``threshold`` counts
  at once (no confirmation delay), plus confirmed tracks that only a weak box continues this frame,
  plus confirmed tracks unseen for at most ``hold_s``. At low frame rates tracks rarely match (people
  move more than a box between frames) and ``hold_s`` is shorter than a frame interval, so it counts
  like ``detections``; at high rates the track support adds who the detector misses briefly.

Any mode may smooth its count over time: the median of its per-frame counts over the last ``window_s``
seconds (one frame where frames are further apart), which removes one-frame flicker without moving
the threshold (so without the bias a lower or higher threshold would bring to another scene).

``auto`` picks one of them by the camera's measured frame rate from the model's calibration
(``detectors/calibrations``): what the held-out evaluation found best at that rate.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.detectors.calibration import load_calibration
from count_people.geometry import iou_matrix
from count_people.tracking.tracker import TIME_SLACK_S, Tracker, TrackerParams

MODES = ("detections", "smoothed", "tracks", "fused")
#: Frames the rate estimate averages over (before the second frame: the mode of the lowest rate).
RATE_WINDOW = 10


@dataclass(frozen=True)
class CountMode:
    """One way of counting: ``threshold`` for a box to count (detections, fused; the tracker's threshold to
    start a track for tracks), the tracker's parameters and how long an unseen confirmed track counts."""

    mode: str
    threshold: float
    tracker: TrackerParams
    hold_s: float = 0.12
    window_s: float = 0.0


@dataclass(frozen=True)
class CountPolicy:
    """``modes`` by the lowest frame rate each is used from, ascending; one entry = a fixed mode."""

    modes: tuple[tuple[float, CountMode], ...]

    def at(self, fps: float | None) -> CountMode:
        """The mode for a camera running at ``fps`` (None: not measured yet, the lowest rate's)."""
        chosen = self.modes[0][1]
        for low, mode in self.modes:
            if fps is not None and fps >= low:
                chosen = mode
        return chosen


#: A track-supported box overlapping a counted box by at least this IoU is the same person, counted already.
SAME_PERSON_IOU = 0.3


def uncovered(extra: list[Detection], counted: list[Detection]) -> list[Detection]:
    """The boxes of ``extra`` that no box of ``counted`` (nor an earlier one of ``extra``) already covers."""
    kept = list(counted)
    for det in extra:
        same = [k for k in kept if k.label == det.label]
        if not same or iou_matrix(np.array([det.box]), np.array([k.box for k in same])).max() < SAME_PERSON_IOU:
            kept.append(det)
    return kept[len(counted):]


class FrameCounter:
    """Counts each frame by its policy; one tracker per mode in use, fed every frame, so a switch of mode
    (the camera's rate changed) starts with tracks already followed."""

    def __init__(self, policy: CountPolicy) -> None:
        self.policy = policy
        self._trackers: dict[CountMode, Tracker] = {}
        self._times: list[float] = []
        #: Counts of the latest frames, kept across a switch of mode: the modes share the detections' threshold.
        self._history: deque[tuple[float, Counter[str]]] = deque()
        #: The boxes counted in the latest frame, before smoothing (what precision/recall are measured on).
        self.boxes: list[Detection] = []

    @property
    def fps(self) -> float | None:
        """The camera's actual processed rate over the last ``RATE_WINDOW`` frames, None before a second one."""
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def count(self, detections: Sequence[Detection], now: float) -> Counter[str]:
        """The count per label of the frame taken at ``now`` (seconds), smoothed over the mode's window."""
        self._times = [*self._times[-(RATE_WINDOW - 1):], now]
        current = self.policy.at(self.fps)
        self.boxes = self._boxes(current, detections, now)
        self._history.append((now, Counter(d.label for d in self.boxes)))
        while now - self._history[0][0] > current.window_s + TIME_SLACK_S:
            self._history.popleft()
        labels = {label for _, counts in self._history for label in counts}
        return Counter({label: round(statistics.median(c[label] for _, c in self._history)) for label in labels})

    def _boxes(self, current: CountMode, detections: Sequence[Detection], now: float) -> list[Detection]:
        """What ``current`` counts in this frame; every tracker of the policy follows the frame."""
        for mode in dict.fromkeys(mode for _, mode in self.policy.modes):  # a mode used at two rates: one update
            if mode.mode in ("tracks", "fused"):
                self._trackers.setdefault(mode, Tracker(mode.tracker)).update(detections, now)
        strong = [d for d in detections if d.score >= current.threshold]
        if current.mode in ("detections", "smoothed"):
            return strong
        if current.mode == "tracks":
            return self._trackers[current].counted(current.hold_s)
        supported = [
            t.as_detection() for t in self._trackers[current].confirmed()
            if (t.missed == 0 and t.score < current.threshold)
            or (t.missed > 0 and now - t.last_seen <= current.hold_s + TIME_SLACK_S)
        ]
        return strong + uncovered(supported, strong)


_BUILT_IN = Settings()


def tracker_params(settings: Settings, high_threshold: float | None = None, confirm_s: float | None = None
                   ) -> TrackerParams:
    return TrackerParams(
        high_threshold=settings.tracker_high_threshold if high_threshold is None else high_threshold,
        match_iou=settings.tracker_match_iou,
        lost_s=settings.tracker_lost_s,
        confirm_s=settings.tracker_confirm_s if confirm_s is None else confirm_s,
    )


def _calibrated(settings: Settings, key: str, measured: float | None) -> float:
    """The calibration's value for a key the user left at its built-in default, else the user's."""
    value = getattr(settings, key)
    return value if measured is None or value != getattr(_BUILT_IN, key) else measured


def count_mode(settings: Settings, name: str, calibration: dict | None) -> CountMode:
    """Mode ``name`` with the calibration's values where the user left the keys at their defaults."""
    entry = (calibration or {}).get("modes", {}).get(name, {})
    key = "threshold" if name == "detections" else "tracker_high_threshold"
    threshold = _calibrated(settings, key, entry.get("threshold"))
    confirm_s = _calibrated(settings, "tracker_confirm_s", entry.get("confirm_s"))
    window_s = _calibrated(settings, "count_window_s", entry.get("window_s")) if name != "detections" else 0.0
    return CountMode(name, threshold, tracker_params(settings, threshold, confirm_s),
                     _calibrated(settings, "count_hold_s", entry.get("hold_s")), window_s)


def count_policy(settings: Settings) -> CountPolicy:
    """What ``count_from`` means for this camera: a fixed mode, or ``auto``'s modes by frame rate from the model's
    calibration (detections when the model has none: nothing was measured to prefer anything else)."""
    calibration = load_calibration(settings.model, settings.params) if settings.model_defaults else None
    if settings.count_from != "auto":
        return CountPolicy(((0.0, count_mode(settings, settings.count_from, calibration)),))
    if calibration is None or not calibration.get("auto"):
        return CountPolicy(((0.0, count_mode(settings, "detections", None)),))
    return CountPolicy(tuple((float(low), count_mode(settings, name, calibration))
                             for low, name in calibration["auto"]))
