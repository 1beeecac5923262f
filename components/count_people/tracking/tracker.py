"""A small ByteTrack-style multi-object tracker, one per class, giving stable ids across frames.

Why our own: supervision's ``ByteTrack`` is deprecated since 0.28 and gone in 0.31; the
releases that still have it require ``opencv-python`` (clashes with our headless OpenCV,
0.26-0.29) or Python >= 3.10 plus PyAV and matplotlib (0.30), and its successor
``trackers`` needs numpy >= 2 where MXNet needs numpy < 1.24.

The algorithm is ByteTrack's (Zhang et al., 2022): a constant-velocity Kalman filter predicts
every track; confident detections are matched first (to active and recently lost tracks),
then the remaining low-score detections keep active tracks alive through partial occlusion;
only confident detections start tracks, which get an id once seen ``confirm_frames`` times.
Matching is greedy by IoU (few objects per frame, no SciPy needed on the device).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count

import numpy as np

from count_people.detectors.base import Detection
from count_people.geometry import Box, iou_matrix

#: Kalman process noise relative to the box height, as in ByteTrack.
_STD_POSITION = 1.0 / 20
_STD_VELOCITY = 1.0 / 160


class KalmanBoxFilter:
    """Constant-velocity filter over (cx, cy, aspect, height) and their velocities."""

    motion = np.eye(8) + np.eye(8, k=4)
    observe = np.eye(4, 8)

    def __init__(self, box: Box) -> None:
        self.mean = np.r_[_xyah(box), np.zeros(4)]
        h = self.mean[3]
        std = [2 * _STD_POSITION * h, 2 * _STD_POSITION * h, 1e-2, 2 * _STD_POSITION * h,
               10 * _STD_VELOCITY * h, 10 * _STD_VELOCITY * h, 1e-5, 10 * _STD_VELOCITY * h]
        self.covariance = np.diag(np.square(std))

    def predict(self) -> None:
        h = self.mean[3]
        std = [_STD_POSITION * h, _STD_POSITION * h, 1e-2, _STD_POSITION * h,
               _STD_VELOCITY * h, _STD_VELOCITY * h, 1e-5, _STD_VELOCITY * h]
        self.mean = self.motion @ self.mean
        self.covariance = self.motion @ self.covariance @ self.motion.T + np.diag(np.square(std))

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
    high_threshold: float = 0.5
    match_iou: float = 0.2
    lost_frames: int = 30
    confirm_frames: int = 2


@dataclass(eq=False)
class Track:
    """One object followed over frames; ``id`` is 0 until confirmed."""

    label: str
    box: Box
    score: float
    kalman: KalmanBoxFilter
    id: int = 0
    hits: int = 1
    missed: int = 0

    def update(self, det: Detection) -> None:
        self.kalman.update(det.box)
        self.box, self.score = det.box, det.score
        self.hits += 1
        self.missed = 0


@dataclass
class ClassTracker:
    """ByteTrack for the detections of one class; ids come from a counter shared across classes."""

    params: TrackerParams
    ids: Iterable[int]
    tracks: list[Track] = field(default_factory=list)

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """Advance one frame; returns the confirmed tracks matched in this frame."""
        p = self.params
        for track in self.tracks:
            track.kalman.predict()
        high = [d for d in detections if d.score >= p.high_threshold]
        low = [d for d in detections if d.score < p.high_threshold]
        confirmed = [t for t in self.tracks if t.id]
        tentative = [t for t in self.tracks if not t.id]
        matched: list[Track] = []

        # 1. confident detections against every confirmed track, active or lost, by predicted box
        rest_high = self._associate(confirmed, high, p.match_iou, matched)
        # 2. low-score detections only keep tracks that were active in the previous frame alive
        active_left = [t for t in confirmed if t not in matched and t.missed == 0]
        self._associate(active_left, low, 0.5, matched)
        # 3. tracks seen once so far, against what confident detections are left
        rest_high = self._associate(tentative, rest_high, max(p.match_iou, 0.3), matched)

        survivors = []
        for track in self.tracks:
            if track in matched:
                if not track.id and track.hits >= p.confirm_frames:
                    track.id = next(self.ids)  # type: ignore[call-overload]
                survivors.append(track)
            else:
                track.missed += 1
                if track.id and track.missed <= p.lost_frames:
                    survivors.append(track)
        for det in rest_high:
            track = Track(det.label, det.box, det.score, KalmanBoxFilter(det.box))
            if p.confirm_frames <= 1:
                track.id = next(self.ids)  # type: ignore[call-overload]
                matched.append(track)
            survivors.append(track)
        self.tracks = survivors
        return [t for t in matched if t.id]

    @staticmethod
    def _associate(
        tracks: list[Track], detections: list[Detection], min_iou: float, matched: list[Track]
    ) -> list[Detection]:
        """Update matched tracks (appended to ``matched``); return the unmatched detections."""
        predicted = np.array([t.kalman.box for t in tracks]).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(predicted, np.array([d.box for d in detections]).reshape(-1, 4)), min_iou)
        for r, c in pairs:
            tracks[r].update(detections[c])
            matched.append(tracks[r])
        used = {c for _, c in pairs}
        return [d for i, d in enumerate(detections) if i not in used]


class Tracker:
    """Tracks every class separately so a person never takes over a car's id; ids are unique."""

    def __init__(self, params: TrackerParams) -> None:
        self.params = params
        self._ids = count(1)
        self._by_class: dict[str, ClassTracker] = {}

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        by_label: dict[str, list[Detection]] = {label: [] for label in self._by_class}
        for det in detections:
            by_label.setdefault(det.label, []).append(det)
        tracks = []
        for label, dets in by_label.items():
            tracker = self._by_class.setdefault(label, ClassTracker(self.params, self._ids))
            tracks.extend(tracker.update(dets))
        return tracks

    def counted(self, hold_frames: int) -> list[Detection]:
        """Confirmed tracks seen in this frame or at most ``hold_frames`` frames ago, as detections to count.

        A person the detector scores weakly in one frame still counts when that weak box continues
        their track (ByteTrack's second association), and one it misses for a frame or two is still
        there (at the filter's predicted box); a one-frame false positive is never confirmed.
        """
        return [
            Detection(t.label, t.score, t.box if t.missed == 0 else t.kalman.box)
            for tracker in self._by_class.values() for t in tracker.tracks if t.id and t.missed <= hold_frames
        ]
