"""The frame-rate sweep: every frame evaluated once per rate, whatever the phase; counting replayed per setting."""

from __future__ import annotations

from count_people.detectors.base import Detection
from count_people.evaluation.sweep import Footage, fixed, mae, phases
from count_people.tracking.counting import CountMode
from count_people.tracking.tracker import TrackerParams


def test_each_rate_reads_every_frame_over_its_phases_at_the_real_spacing():
    runs = phases(50, 25.0, 2.0)  # 12.5 frames apart: 12 or 13, as a scheduler at 2 fps would take them
    assert set(i for run in runs for i in run) == set(range(50)) and sum(map(len, runs)) <= 52
    assert runs[0] == [0, 12, 25, 38] and len(runs) == 13
    assert phases(50, 25.0, 5.0) == [list(range(p, 50, 5)) for p in range(5)]
    assert phases(5, 25.0, 25.0) == [[0, 1, 2, 3, 4]]


def walker(frame: int, score: float = 0.9) -> Detection:
    x = 100.0 + 4 * frame
    return Detection("person", score, (x, 100.0, x + 40.0, 200.0))


def test_mae_replays_the_counters_own_counting_on_the_cached_boxes():
    # one person throughout, missed by the detector in frames 10 and 11; a blip in frame 20
    candidates = [[] if i in (10, 11) else [walker(i)] for i in range(25)]
    candidates[20].append(Detection("person", 0.9, (500.0, 100.0, 540.0, 200.0)))
    footage = Footage("walk", 25.0, candidates, [1] * 25)
    params = TrackerParams(high_threshold=0.5, confirm_s=0.04)
    detections = fixed(CountMode("detections", 0.5, params))
    assert mae(footage, detections, 25.0, None) == 3 / 25
    held = fixed(CountMode("tracks", 0.5, params, hold_s=0.1))
    assert mae(footage, held, 25.0, None) == 1 / 25  # only the first frame (not confirmed yet)
    assert mae(footage, held, 1.0, None) == 1.0  # 1 s apart nothing is ever confirmed: the count is 0
