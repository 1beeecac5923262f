"""``precision: auto``: INT8 only where it is measured faster and agrees with FP32; the choice cached per CPU."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from count_people.config import Settings
from count_people.detectors import precision
from count_people.detectors.base import Detection

PERSON = Detection("person", 0.9, (10.0, 10.0, 50.0, 110.0))


class Fake:
    """A detector whose speed and boxes the test sets; ``int8_entry`` as the INT8 backends have."""

    name = "fake"

    def __init__(self, seconds: float, boxes: list[Detection], tmp: Path, runs_int8: bool = True) -> None:
        self.seconds, self.boxes, self.tmp = seconds, boxes, tmp
        self.precision = "fp32"
        self.runs_int8 = runs_int8

    def int8_entry(self) -> Path:
        return self.tmp / "fake-int8-0123"

    def detect(self, image: np.ndarray) -> list[Detection]:
        time.sleep(self.seconds)
        return list(self.boxes)

    def load(self) -> None:
        self.precision = "int8" if self.runs_int8 else "fp32"

    def check_classes(self, classes) -> None:
        pass


@pytest.fixture
def setup(tmp_path, monkeypatch):
    frames = [np.zeros((8, 8, 3), np.uint8)] * 3
    monkeypatch.setattr(precision, "calibration_images", lambda source, count: frames)
    settings = Settings().updated({"model_cache": str(tmp_path / "cache"), "source": str(tmp_path / "video.mp4")})

    def run(int8: Fake) -> tuple[object, precision.PrecisionChoice]:
        monkeypatch.setattr(precision, "create_detector", lambda s: int8)
        return precision.measure(settings, Fake(0.02, [PERSON], tmp_path))

    return run, tmp_path


def test_int8_is_chosen_when_faster_and_in_agreement_and_the_choice_is_cached(setup):
    run, tmp = setup
    fast = Fake(0.005, [PERSON], tmp)
    detector, choice = run(fast)
    assert detector is fast and choice.precision == "int8" and choice.agreement == 1.0 and choice.speedup > 2
    assert "[" in choice.cpu  # the INT8-relevant instruction sets are named beside the CPU model
    slow_now = Fake(0.05, [PERSON], tmp)
    detector, cached = run(slow_now)  # a restart on the same CPU: read, not measured again
    assert detector is slow_now and cached == choice


def test_fp32_stays_when_int8_disagrees_or_is_not_faster(setup):
    run, tmp = setup
    detector, choice = run(Fake(0.005, [], tmp))
    assert detector is None and choice.precision == "fp32" and choice.agreement == 0.0
    assert "agree" in choice.reason and choice.int8_ms is not None  # the speed-up is still measured and exported


def test_fp32_stays_when_int8_cannot_run_here(setup):
    run, tmp = setup
    detector, choice = run(Fake(0.005, [PERSON], tmp, runs_int8=False))
    assert detector is None and choice.precision == "fp32" and choice.speedup is None


def test_the_timing_runs_inside_the_exclusive_section_and_the_calibration_does_not(setup, monkeypatch, tmp_path):
    _, tmp = setup
    inside = []

    class Pause:
        def __enter__(self):
            inside.append(True)

        def __exit__(self, *exc):
            inside.append(False)

    times = []
    monkeypatch.setattr(precision, "time_both", lambda *a: times.append(inside[-1:]) or (10.0, 5.0, 1.0))
    int8 = Fake(0.005, [PERSON], tmp)
    monkeypatch.setattr(precision, "create_detector", lambda s: int8)
    settings = Settings().updated({"model_cache": str(tmp_path / "other"), "source": "v.mp4"})
    precision.measure(settings, Fake(0.02, [PERSON], tmp), Pause())
    assert times == [[True]] and inside == [True, False]


def test_agreement_is_the_f1_of_matching_boxes():
    moved = Detection("person", 0.9, (200.0, 10.0, 240.0, 110.0))
    assert precision.agreement([[PERSON]], [[PERSON]]) == 1.0
    assert precision.agreement([[PERSON, moved]], [[PERSON]]) == pytest.approx(2 / 3)
    assert precision.agreement([[]], [[]]) == 1.0
