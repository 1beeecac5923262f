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
    tracker = Tracker(TrackerParams(confirm_s=0))
    seen: dict[int, list[float]] = {}
    for step in range(40):
        a, b = 100 + 8 * step, 420 - 8 * step  # they pass at step 20, on different rows
        for t in tracker.update([person(a, 50), person(b, 90)], step / 25):
            seen.setdefault(t.id, []).append(t.box[1])
    assert sorted(seen) == [1, 2]
    assert all(len(set(rows)) == 1 for rows in seen.values()), "an id jumped to the other walker"


def test_a_track_survives_missed_frames_and_is_dropped_after_lost_s():
    tracker = Tracker(TrackerParams(lost_s=0.2, confirm_s=0))
    for step in range(5):
        (first,) = [t.id for t in tracker.update([person(100 + 10 * step)], step / 25)]
    for step in range(5, 9):
        assert tracker.update([], step / 25) == []
    # Reappears where the motion model expects it: same id.
    assert [t.id for t in tracker.update([person(190)], 9 / 25)] == [first]
    for step in range(10, 17):
        tracker.update([], step / 25)
    assert [t.id for t in tracker.update([person(260)], 17 / 25)] == [first + 1]


def test_the_motion_model_predicts_over_the_real_time_between_frames():
    """Uneven intervals (a slow detector, a shared scheduler): 2 px/frame at 25 fps is 50 px/s; after a 0.4 s gap
    the person is 20 px on, where the filter looks for them, though it was one update (``test_...`` below: a
    filter stepping one frame per update looks 2 px on and loses them)."""
    times = [0.0, 0.04, 0.08, 0.12, 0.16, 0.56, 0.60]
    tracker = Tracker(TrackerParams(confirm_s=0, match_iou=0.7))
    found = [[t.id for t in tracker.update([person(100 + 50 * now)], now)] for now in times]
    assert found[-2:] == [[1], [1]]
    per_frame = Tracker(TrackerParams(confirm_s=0, match_iou=0.7))
    for now in times[:5]:
        per_frame.update([person(100 + 50 * now)], now)
    # the same boxes with the gap treated as one 0.04 s frame (as a frame-counting filter would) lose the match
    assert [t.id for t in per_frame.update([person(120)], 0.20)] == [2]  # a new id


def test_ids_come_after_confirm_s_and_low_scores_only_extend_tracks():
    tracker = Tracker(TrackerParams(high_threshold=0.6, confirm_s=0.08))
    assert tracker.update([person(100)], 0.0) == []
    assert tracker.update([person(104)], 0.04) == []  # followed for 0.04 s of 0.08
    (track,) = tracker.update([person(108)], 0.08)
    assert tracker.update([person(112, score=0.3)], 0.12)[0].id == track.id  # weak, but continues a track
    weak = Tracker(TrackerParams(high_threshold=0.6, confirm_s=0))
    assert all(weak.update([person(100, score=0.3)], step / 25) == [] for step in range(3))  # never starts one


def test_classes_are_tracked_apart_with_unique_ids():
    tracker = Tracker(TrackerParams(confirm_s=0))
    for step in range(3):
        tracks = tracker.update([person(100 + step), person(100 + step, label="bicycle")], step / 25)
    assert ids(tracks) == {"person": [1], "bicycle": [2]}


def test_greedy_matching_prefers_the_best_overlap():
    boxes = [(0, 0, 10, 10), (5, 0, 15, 10)]
    iou = iou_matrix(np.array(boxes), np.array([(6, 0, 16, 10), (0, 0, 10, 10)]))
    assert greedy_match(iou, 0.2) == [(0, 1), (1, 0)]
    assert greedy_match(iou, 0.9) == [(0, 1)]
