"""Threshold calibration tunes on one set and reports on another, always."""

from __future__ import annotations

import pytest
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.errors import UserError
from count_people.evaluation import calibrate
from count_people.evaluation.sweep import Footage

SETTINGS = Settings().updated({"detector": "gluoncv", "model": "ssd_512_resnet50_v1_voc"})  # no NMS key


def scene(name: str, true_score: float, false_score: float, frames: int = 30) -> Footage:
    """Two people walking, and a static false positive of a fixed score."""
    candidates = []
    for i in range(frames):
        walkers = [Detection("person", true_score, (x + 3 * i, 100.0, x + 3 * i + 40, 200.0)) for x in (50, 300)]
        candidates.append([*walkers, Detection("person", false_score, (600.0, 50.0, 640.0, 150.0))])
    return Footage(name, 25.0, candidates, [2] * frames)


@pytest.fixture(autouse=True)
def small_grid(monkeypatch):
    monkeypatch.setattr(calibrate, "THRESHOLDS", (0.3, 0.5, 0.7))
    monkeypatch.setattr(calibrate, "TRACKER_THRESHOLDS", (0.5,))
    monkeypatch.setattr(calibrate, "HOLDS_S", (0.0, 0.12))
    monkeypatch.setattr(calibrate, "CONFIRMS_S", (0.04,))
    monkeypatch.setattr(calibrate, "WINDOWS_S", (0.2, 0.4))


def test_the_threshold_is_chosen_on_the_tuning_footage_and_reported_on_the_other():
    tuned_on = scene("A", true_score=0.8, false_score=0.6)  # 0.7 keeps the people and drops the false one
    other = scene("B", true_score=0.6, false_score=0.4)  # there, 0.7 loses both people
    result = calibrate.calibration(SETTINGS, [tuned_on], [other])
    assert result["modes"]["detections"]["threshold"] == 0.7 and result["tuned_on"] == ["A"]
    assert list(result["held_out"]) == ["B"]
    assert result["held_out"]["B"]["detections"][25.0] == 2.0  # the honest, bad, figure


def test_smoothing_and_track_support_are_tuned_at_the_detections_threshold(monkeypatch):
    tried = []
    scores = calibrate.scores
    monkeypatch.setattr(calibrate, "scores", lambda footages, policy, *rest: tried.append(policy.modes[0][1])
                        or scores(footages, policy, *rest))
    result = calibrate.calibration(SETTINGS, [scene("A", 0.8, 0.6)], [scene("B", 0.6, 0.4)])
    threshold = result["modes"]["detections"]["threshold"]
    assert {m.threshold for m in tried if m.mode in ("smoothed", "fused")} == {threshold}
    assert {m.window_s for m in tried if m.mode == "smoothed"} == set(calibrate.WINDOWS_S)
    assert result["modes"]["smoothed"]["threshold"] == result["modes"]["fused"]["threshold"] == threshold


def test_nothing_is_ever_reported_on_what_was_tuned():
    a = scene("A", 0.8, 0.6)
    with pytest.raises(UserError, match="other than --tune"):
        calibrate.calibration(SETTINGS, [a], [a])
    with pytest.raises(UserError, match="give --report footage"):
        calibrate.calibration(SETTINGS, [a], [])


def test_without_report_footage_each_sequence_is_held_out_in_turn():
    a, b = scene("A", 0.8, 0.6), scene("B", 0.9, 0.2)
    result = calibrate.calibration(SETTINGS, [a, b], [])
    assert set(result["held_out"]) == {"A", "B"} and result["held_out_split"] == "sequences"
    # tuned on B alone (0.3 is enough there) A's false positive at 0.6 counts: A is reported with B's choice
    assert result["held_out"]["A"]["detections"][25.0] == 1.0
    halves = calibrate.calibration(SETTINGS, [a, b], [], "halves")
    assert set(halves["held_out"]) == {"A first half", "A second half", "B first half", "B second half"}


def test_auto_only_takes_a_mode_no_worse_than_detections_on_every_tuning_footage(monkeypatch):
    monkeypatch.setattr(calibrate, "RATES", (1.0, 5.0, 25.0))
    per_rate = {  # MAE at 1, 5, 25 fps
        "detections": {"A": [1.0, 1.0, 1.0], "B": [1.0, 1.0, 1.0], "mean": [1.0, 1.0, 1.0]},
        "fused": {"A": [1.1, 0.5, 0.5], "B": [1.0, 0.9, 1.2], "mean": [1.05, 0.7, 0.85]},  # 25 fps: worse on B
        "smoothed": {"A": [1.0, 0.9, 0.95], "B": [1.0, 0.95, 0.95], "mean": [1.0, 0.93, 0.95]},
    }
    assert calibrate.auto_modes(per_rate, ["A", "B"]) == [[0.0, "detections"], [2.24, "fused"], [11.18, "smoothed"]]
    per_rate["fused"]["B"][2] = 1.0 + calibrate.AUTO_TOLERANCE  # a late count on entry and exit: tolerated
    assert calibrate.auto_modes(per_rate, ["A", "B"])[-1] == [2.24, "fused"]


def test_every_scene_weighs_the_same_however_long_its_video():
    short, long = scene("short", 0.8, 0.6, frames=10), scene("long", 0.8, 0.2, frames=100)
    policy = calibrate.fixed(calibrate._mode("detections", 0.5))  # counts short's false positive, not long's
    assert calibrate.scores([short, long], policy, None, {})["mean"][0] == 0.5  # not 10 / 110


def test_the_command_writes_the_calibration_beside_the_model_and_prints_held_out_figures(tmp_path, monkeypatch,
                                                                                         capsys):
    import json

    from count_people.cli import main
    from count_people.detectors import calibration as shipped

    model = tmp_path / "mine.onnx"
    model.write_bytes(b"weights")
    scenes = {"a.mp4": scene("a", 0.8, 0.6), "b.mp4": scene("b", 0.9, 0.2)}
    monkeypatch.setattr(calibrate, "detect", lambda settings, path: scenes[path.name])
    monkeypatch.setattr(calibrate, "candidate_settings", lambda settings: settings)
    assert main(["calibrate", "--detector", "gluoncv", "--model", str(model), "--tune", str(tmp_path / "a.mp4"),
                 "--report", str(tmp_path / "b.mp4"), "--min-box-height", "0.2", "--write"]) == 0
    written = json.loads(shipped.beside(str(model)).read_text())
    assert written["tuned_on"] == ["a"] and list(written["held_out"]) == ["b"] and written["min_box_height"] == 0.2
    assert written["sha256"] == shipped.fingerprint(model)
    assert "| b | 25 |" in capsys.readouterr().out
