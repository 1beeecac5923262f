"""What is counted: fixed modes, ``auto`` by the camera's measured rate from the model's calibration, smoothing."""

from __future__ import annotations

import json

import pytest
from count_people.config import Settings
from count_people.detectors import calibration
from count_people.detectors.base import Detection
from count_people.tracking.counting import CountMode, CountPolicy, FrameCounter, count_policy
from count_people.tracking.tracker import Tracker, TrackerParams


def person(x: float, score: float = 0.9) -> Detection:
    return Detection("person", score, (x, 100.0, x + 40.0, 200.0))


def mode(name: str, threshold: float = 0.5, window_s: float = 0.0) -> CountMode:
    return CountMode(name, threshold, TrackerParams(high_threshold=threshold, confirm_s=0.04), 0.0, window_s)


def run(policy: CountPolicy, frames: list[list[Detection]], fps: float) -> list[int]:
    counter = FrameCounter(policy)
    return [counter.count(boxes, 5.0 + i / fps)["person"] for i, boxes in enumerate(frames)]


def test_auto_switches_mode_by_the_measured_frame_rate():
    policy = CountPolicy(((0.0, mode("detections")), (7.0, mode("tracks"))))
    frames = [[person(100)], [person(102)], [person(104), person(400)], [person(106)]]  # a one-frame blip at 400
    assert run(policy, frames, fps=2) == [1, 1, 2, 1]  # detections below 7 fps: the blip counts
    assert run(policy, frames, fps=25) == [1, 1, 1, 1]  # no rate at the 1st frame; then tracks (running from it)
    assert policy.at(None) is policy.modes[0][1] and policy.at(6.9).mode == "detections"


def test_a_mode_used_at_two_rates_follows_each_frame_once(monkeypatch):
    updates = []
    original = Tracker.update
    monkeypatch.setattr(Tracker, "update", lambda self, boxes, now: updates.append(now) or original(self, boxes, now))
    fused = mode("fused")
    policy = CountPolicy(((0.0, fused), (3.0, mode("detections")), (15.0, fused)))
    run(policy, [[person(100 + 4 * i)] for i in range(3)], fps=25)
    assert len(updates) == 3  # a second update at the same time would match every box twice


def test_a_switch_of_mode_keeps_the_counts_it_smooths_over():
    smoothed = mode("smoothed", window_s=0.2)
    frames = [[person(100)], [person(100)], [person(100), person(300)], [person(100)]]  # a blip in the 3rd frame
    fixed = run(CountPolicy(((0.0, smoothed),)), frames, fps=10)
    switched = run(CountPolicy(((0.0, mode("detections")), (5.0, smoothed))), frames, fps=10)  # from the 2nd frame
    assert switched == fixed == [1, 1, 1, 1]  # the 1st frame's count is in the 3rd's median, as without a switch


def test_smoothing_takes_the_median_count_over_the_window():
    flicker = [[person(100)], [person(100), person(300)], [person(100)], [], [person(100)]]
    assert run(CountPolicy(((0.0, mode("smoothed", window_s=0.2)),)), flicker, fps=10) == [1, 2, 1, 1, 1]
    assert run(CountPolicy(((0.0, mode("smoothed", window_s=0.2)),)), flicker, fps=2) == [1, 2, 1, 0, 1]  # 1 frame


def write_calibration(path, **changes) -> None:
    data = {"format": 1, "model": path.name, "floor": 0.1, "nms_threshold": 0.6,
            "modes": {"detections": {"threshold": 0.42}, "fused": {"threshold": 0.55, "hold_s": 0.2, "window_s": 0.4}},
            "auto": [[0.0, "detections"], [7.07, "fused"]], **changes}
    calibration.beside(str(path)).write_text(json.dumps(data))


@pytest.fixture
def model(tmp_path):
    calibration.load_calibration.cache_clear()
    path = tmp_path / "mine.onnx"
    path.write_bytes(b"weights")
    yield path
    calibration.load_calibration.cache_clear()


def test_auto_follows_the_models_calibration_and_a_key_the_user_set_wins(model):
    write_calibration(model)
    settings = Settings().updated({"model": str(model)})
    (low, detections), (high, fused) = count_policy(settings).modes
    assert (low, detections.threshold, high, fused.mode, fused.threshold, fused.hold_s, fused.window_s) == (
        0.0, 0.42, 7.07, "fused", 0.55, 0.2, 0.4)
    mine = count_policy(settings.updated({"count_hold_s": 0.05, "threshold": 0.6}))
    assert mine.modes[0][1].threshold == 0.6 and mine.modes[1][1].hold_s == 0.05
    assert count_policy(settings.updated({"model_defaults": "off"})).modes[0][1].mode == "detections"


def test_an_uncalibrated_model_counts_detections_in_auto(model):
    (only,) = count_policy(Settings().updated({"model": str(model)})).modes
    assert (only[1].mode, only[1].threshold) == ("detections", Settings().threshold)
