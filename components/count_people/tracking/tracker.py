"""A small ByteTrack-style multi-object tracker, one per class, giving stable ids across frames.

Why our own: supervision's ``ByteTrack`` is deprecated since 0.28 and gone in 0.31; the
releases that still have it require ``opencv-python`` (clashes with our headless OpenCV,
0.26-0.29) or Python >= 3.10 plus PyAV and matplotlib (0.30), and its successor
``trackers`` needs numpy >= 2 where MXNet needs numpy < 1.24.

The algorithm is ByteTrack's (Zhang et al., 2022): a constant-velocity Kalman filter predicts
every track; confident detections are matched first (to active and recently lost tracks),
then the remaining low-score detections keep active tracks alive through partial occlusion;
only confident detections start tracks, which get an id once followed for ``confirm_s``.
Matching is greedy by IoU (few objects per frame, no SciPy needed on the device).

Time, not frames: every update carries its frame's timestamp, the filter predicts over the real
time since the previous one (frames are not evenly spaced under a fair multi-camera scheduler or
a slow detector), and every time constant is in seconds, so one setting means the same at 1 fps
as at 25 fps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count

import numpy as np

from count_people.detectors.base import Detection
from count_people.geometry import Box, iou_matrix

#: Kalman process noise relative to the box height, as in ByteTrack, whose values are per frame at
#: ``REFERENCE_INTERVAL_S``; over another interval the noise variance scales with the time (a random walk).
_STD_POSITION = 1.0 / 20
_STD_VELOCITY = 1.0 / 160
REFERENCE_INTERVAL_S = 1.0 / 25
#: Slack on time comparisons: timestamps k/fps do not subtract exactly in floating point.
TIME_SLACK_S = 1e-3


class KalmanBoxFilter:
    """Constant-velocity filter over (cx, cy, aspect, height) and their velocities per second."""

    observe = np.eye(4, 8)

    def __init__(self, box: Box) -> None:
        self.mean = np.r_[_xyah(box), np.zeros(4)]
        h = self.mean[3]
        per_second = 1.0 / REFERENCE_INTERVAL_S
        std = [2 * _STD_POSITION * h, 2 * _STD_POSITION * h, 1e-2, 2 * _STD_POSITION * h,
               10 * _STD_VELOCITY * h * per_second, 10 * _STD_VELOCITY * h * per_second, 1e-5,
               10 * _STD_VELOCITY * h * per_second]
        self.covariance = np.diag(np.square(std))

    def predict(self, dt: float) -> None:
        """Advance by ``dt`` seconds: the uncertainty grows with the time, whatever the frame rate."""
        h = self.mean[3]
        steps = max(dt, 0.0) / REFERENCE_INTERVAL_S  # reference frames elapsed
        per_second = 1.0 / REFERENCE_INTERVAL_S
        std = [_STD_POSITION * h, _STD_POSITION * h, 1e-2, _STD_POSITION * h,
               _STD_VELOCITY * h * per_second, _STD_VELOCITY * h * per_second, 1e-5, _STD_VELOCITY * h * per_second]
        motion = np.eye(8) + max(dt, 0.0) * np.eye(8, k=4)
        self.mean = motion @ self.mean
        self.covariance = motion @ self.covariance @ motion.T + np.diag(np.square(std)) * steps

    def update(self, box: Box) -> None:
        h = self.mean[3]
        noise = np.diag(np.square([_STD_POSITION * h, _STD_POSITION * h, 1e-1, _STD_POSITION * h]))
        projected = self.observe @ self.covariance @ self.observe.T + noise
        gain = np.linalg.solve(projected, self.observe @ self.covariance).T
        self.mean = self.mean + gain @ (_xyah(box) - self.observe @ self.mean)
        self.covariance = self.covariance - gain @ projected @ gain.T

    @property
    def box(self) -> Box:
        cx, cy, a, h = self.mean[:4]
        w = a * h
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _xyah(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    h = max(y1 - y0, 1e-6)
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / h, h])


def greedy_match(iou: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """Pairs (row, col), best IoU first, each row and column used once, IoU >= min_iou."""
    pairs = []
    if iou.size:
        rows, cols = np.nonzero(iou >= min_iou)
        used_r: set[int] = set()
        used_c: set[int] = set()
        for k in np.argsort(-iou[rows, cols], kind="stable"):
            r, c = int(rows[k]), int(cols[k])
            if r not in used_r and c not in used_c:
                used_r.add(r)
                used_c.add(c)
                pairs.append((r, c))
    return pairs


@dataclass(frozen=True)
class TrackerParams:
    """Thresholds, and time constants in seconds: ``lost_s`` unseen before a track is dropped, ``confirm_s``
    followed (first to latest sighting) before it gets an id (0: at its first sighting)."""

    high_threshold: float = 0.5
    match_iou: float = 0.2
    lost_s: float = 1.2
    confirm_s: float = 0.04


@dataclass(eq=False)
class Track:
    """One object followed over frames; ``id`` is 0 until confirmed; times are frame timestamps in seconds."""

    label: str
    box: Box
    score: float
    kalman: KalmanBoxFilter
    first_seen: float
    last_seen: float
    id: int = 0
    missed: int = 0  # updates since the last match: 0 = matched in the latest frame

    def as_detection(self) -> Detection:
        """The box to count: as detected in this frame, else where the filter predicts it."""
        return Detection(self.label, self.score, self.box if self.missed == 0 else self.kalman.box)

    def update(self, det: Detection, now: float) -> None:
        self.kalman.update(det.box)
        self.box, self.score = det.box, det.score
        self.last_seen = now
        self.missed = 0


@dataclass
class ClassTracker:
    """ByteTrack for the detections of one class; ids come from a counter shared across classes."""

    params: TrackerParams
    ids: Iterable[int]
    tracks: list[Track] = field(default_factory=list)
    now: float | None = None

    def update(self, detections: Sequence[Detection], now: float) -> list[Track]:
        """Advance to the frame taken at ``now`` (seconds); returns the confirmed tracks matched in it."""
        p = self.params
        dt = 0.0 if self.now is None else max(now - self.now, 0.0)
        self.now = now
        for track in self.tracks:
            track.kalman.predict(dt)
        high = [d for d in detections if d.score >= p.high_threshold]
        low = [d for d in detections if d.score < p.high_threshold]
        confirmed = [t for t in self.tracks if t.id]
        tentative = [t for t in self.tracks if not t.id]
        matched: list[Track] = []

        # 1. confident detections against every confirmed track, active or lost, by predicted box
        rest_high = self._associate(confirmed, high, p.match_iou, matched, now)
        # 2. low-score detections only keep tracks that were active in the previous frame alive
        active_left = [t for t in confirmed if t not in matched and t.missed == 0]
        self._associate(active_left, low, 0.5, matched, now)
        # 3. tracks seen once so far, against what confident detections are left
        rest_high = self._associate(tentative, rest_high, max(p.match_iou, 0.3), matched, now)

        survivors = []
        for track in self.tracks:
            if track in matched:
                if not track.id and track.last_seen - track.first_seen >= p.confirm_s - TIME_SLACK_S:
                    track.id = next(self.ids)  # type: ignore[call-overload]
                survivors.append(track)
            else:
                track.missed += 1
                if track.id and now - track.last_seen <= p.lost_s + TIME_SLACK_S:
                    survivors.append(track)
        for det in rest_high:
            track = Track(det.label, det.box, det.score, KalmanBoxFilter(det.box), now, now)
            if p.confirm_s <= 0:
                track.id = next(self.ids)  # type: ignore[call-overload]
                matched.append(track)
            survivors.append(track)
        self.tracks = survivors
        return [t for t in matched if t.id]

    @staticmethod
    def _associate(
        tracks: list[Track], detections: list[Detection], min_iou: float, matched: list[Track], now: float
    ) -> list[Detection]:
        """Update matched tracks (appended to ``matched``); return the unmatched detections."""
        predicted = np.array([t.kalman.box for t in tracks]).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(predicted, np.array([d.box for d in detections]).reshape(-1, 4)), min_iou)
        for r, c in pairs:
            tracks[r].update(detections[c], now)
            matched.append(tracks[r])
        used = {c for _, c in pairs}
        return [d for i, d in enumerate(detections) if i not in used]


class Tracker:
    """Tracks every class separately so a person never takes over a car's id; ids are unique."""

    def __init__(self, params: TrackerParams) -> None:
        self.params = params
        self._ids = count(1)
        self._by_class: dict[str, ClassTracker] = {}
        self.now = 0.0

    def update(self, detections: Sequence[Detection], now: float) -> list[Track]:
        """Advance to the frame taken at ``now`` (seconds, any monotonic clock); the confirmed tracks in it."""
        by_label: dict[str, list[Detection]] = {label: [] for label in self._by_class}
        for det in detections:
            by_label.setdefault(det.label, []).append(det)
        tracks = []
        for label, dets in by_label.items():
            tracker = self._by_class.setdefault(label, ClassTracker(self.params, self._ids))
            tracks.extend(tracker.update(dets, now))
        self.now = now
        return tracks

    def counted(self, hold_s: float) -> list[Detection]:
        """Confirmed tracks seen in this frame or at most ``hold_s`` seconds before it, as detections to count.

        A person the detector scores weakly in one frame still counts when that weak box continues
        their track (ByteTrack's second association), and one it misses for a frame or two is still
        there (at the filter's predicted box); a one-frame false positive is never confirmed.
        """
        return [t.as_detection() for t in self.confirmed()
                if t.missed == 0 or self.now - t.last_seen <= hold_s + TIME_SLACK_S]

    def confirmed(self) -> list[Track]:
        """Every confirmed track, seen in this frame (``missed`` 0) or still remembered."""
        return [t for tracker in self._by_class.values() for t in tracker.tracks if t.id]
