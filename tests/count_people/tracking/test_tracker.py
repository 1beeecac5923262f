"""The ByteTrack-style tracker: stable ids through motion, misses and weak detections, per class."""

from __future__ import annotations

import numpy as np
from count_people.detectors.base import Detection
from count_people.geometry import iou_matrix
from count_people.tracking.tracker import Tracker, TrackerParams, greedy_match


def person(x: float, y: float = 100.0, score: float = 0.9, label: str = "person") -> Detection:
    return Detection(label, score, (x, y, x + 40.0, y + 100.0))


def ids(tracks) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for t in tracks:
        out.setdefault(t.label, []).append(t.id)
    return out


def test_two_walkers_keep_their_ids_while_passing_each_other():
    tracker = Tracker(TrackerParams(confirm_frames=1))
    seen: dict[int, list[float]] = {}
    for step in range(40):
        a, b = 100 + 8 * step, 420 - 8 * step  # they pass at step 20, on different rows
        for t in tracker.update([person(a, 50), person(b, 90)]):
            seen.setdefault(t.id, []).append(t.box[1])
    assert sorted(seen) == [1, 2]
    assert all(len(set(rows)) == 1 for rows in seen.values()), "an id jumped to the other walker"


def test_a_track_survives_missed_frames_and_is_dropped_after_lost_frames():
    tracker = Tracker(TrackerParams(lost_frames=5, confirm_frames=1))
    for step in range(5):
        (first,) = [t.id for t in tracker.update([person(100 + 10 * step)])]
    for _ in range(4):
        assert tracker.update([]) == []
    # Reappears where the motion model expects it: same id.
    assert [t.id for t in tracker.update([person(190)])] == [first]
    for _ in range(7):
        tracker.update([])
    assert [t.id for t in tracker.update([person(260)])] == [first + 1]


def test_ids_come_after_confirm_frames_and_low_scores_only_extend_tracks():
    tracker = Tracker(TrackerParams(high_threshold=0.6, confirm_frames=2))
    assert tracker.update([person(100)]) == []
    (track,) = tracker.update([person(104)])
    assert tracker.update([person(108, score=0.3)])[0].id == track.id  # weak, but continues a track
    weak = Tracker(TrackerParams(high_threshold=0.6, confirm_frames=1))
    assert all(weak.update([person(100, score=0.3)]) == [] for _ in range(3))  # never starts one


def test_classes_are_tracked_apart_with_unique_ids():
    tracker = Tracker(TrackerParams(confirm_frames=1))
    for step in range(3):
        tracks = tracker.update([person(100 + step), person(100 + step, label="bicycle")])
    assert ids(tracks) == {"person": [1], "bicycle": [2]}


def test_greedy_matching_prefers_the_best_overlap():
    boxes = [(0, 0, 10, 10), (5, 0, 15, 10)]
    iou = iou_matrix(np.array(boxes), np.array([(6, 0, 16, 10), (0, 0, 10, 10)]))
    assert greedy_match(iou, 0.2) == [(0, 1), (1, 0)]
    assert greedy_match(iou, 0.9) == [(0, 1)]
