"""Several cameras on one model: fair turns, overtaken frames counted, cameras added/removed/changed live."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from count_people.config import Settings
from count_people.errors import UserError
from count_people.loop import MultiCameraLoop
from gluoncv_params import FAST_GLUONCV_MODEL
from running_counter import FrameFeeder
from support import wait_for

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")
pytestmark = pytest.mark.shared


def camera_settings(tmp_path, fast_params, cameras: list[dict]) -> Settings:
    return Settings().updated({
        "source": str(tmp_path / "frame.jpg"), "model": FAST_GLUONCV_MODEL, "params": str(fast_params),
        "input_size": 320, "threshold": 0.2, "classes": "person,car", "stats_interval": 1, "state_file": "",
        "publish": "stdout", "cameras": cameras,
    })


class Running:
    def __init__(self, loop: MultiCameraLoop) -> None:
        self.loop, self.stop = loop, threading.Event()
        self.thread = threading.Thread(target=loop.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def processed(self, camera_id: str) -> int:
        slot = self.loop.slots.get(camera_id)
        return slot.loop.frames_processed if slot else 0

    def end(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_one_model_serves_every_camera_in_fair_turns(tmp_path, fast_params, caplog):
    caplog.set_level(logging.WARNING, "count_people")
    settings = camera_settings(tmp_path, fast_params, [{"id": "busy"}, {"id": "quiet"}])
    feeders = [FrameFeeder(tmp_path / "busy.jpg", fps=30), FrameFeeder(tmp_path / "quiet.jpg", fps=1)]
    loop = MultiCameraLoop(settings)
    running = Running(loop)
    try:
        wait_for(lambda: running.processed("quiet") >= 4, 30, what="four frames of the 1 fps camera")
        busy, quiet = loop.slots["busy"].loop, loop.slots["quiet"].loop
        assert quiet.frames_overtaken == 0, "the slow camera never waits behind the busy one for a whole frame"
        assert busy.frames_processed > quiet.frames_processed and busy.frames_overtaken > 0
        assert busy.detector.net is quiet.detector.net is loop.detector.net, "one model in memory"
        wait_for(lambda: "cannot keep up" in caplog.text, 10, what="the per-interval warning")
        assert "busy" in caplog.text and caplog.text.count("cannot keep up") <= 12
    finally:
        running.end()
        for feeder in feeders:
            feeder.stop()


def test_per_camera_rate_and_threshold(tmp_path, fast_params):
    settings = camera_settings(tmp_path, fast_params, [{"id": "capped", "max_fps": 2, "threshold": 0.9},
                                                       {"id": "free"}])
    feeders = [FrameFeeder(tmp_path / "capped.jpg", fps=20), FrameFeeder(tmp_path / "free.jpg", fps=20)]
    loop = MultiCameraLoop(settings)
    assert loop.slots["capped"].loop.detector.config.threshold == 0.9
    assert loop.slots["free"].loop.detector.config.threshold == 0.2
    running = Running(loop)
    try:
        wait_for(lambda: running.processed("capped") >= 2, 30, what="the capped camera")
        before, started = (running.processed("capped"), running.processed("free")), time.monotonic()
        # Four frames in 3 s at most (not starved), and no sooner than 1.5 s: three gaps of 1/max_fps.
        wait_for(lambda: running.processed("capped") >= before[0] + 4, 3.0, 0.01, what="four more capped frames")
        elapsed = time.monotonic() - started
        capped, free = running.processed("capped") - before[0], running.processed("free") - before[1]
        assert elapsed >= 1.45, f"max_fps 2 honoured per camera: {capped} frames in {elapsed:.2f} s"
        assert free > capped, "the other camera takes the detector's spare time"
    finally:
        running.end()
        for feeder in feeders:
            feeder.stop()


def test_cameras_added_removed_and_changed_without_touching_the_others(tmp_path, fast_params):
    settings = camera_settings(tmp_path, fast_params, [{"id": "a"}, {"id": "b"}])
    feeders = [FrameFeeder(tmp_path / f"{name}.jpg", fps=5) for name in "abc"]
    loop = MultiCameraLoop(settings)
    running = Running(loop)
    try:
        wait_for(lambda: running.processed("a") >= 2 and running.processed("b") >= 2, 30, what="both cameras")
        a, b, detector = loop.slots["a"].loop, loop.slots["b"].loop, loop.detector
        with pytest.raises(UserError, match=r"cameras\[1\]\.id"):
            loop.reconfigure(settings.updated({"cameras": [{"id": "a"}, {"id": "a"}]}))
        assert set(loop.slots) == {"a", "b"}, "a refused update changes nothing"
        loop.reconfigure(settings.updated({"cameras": [{"id": "a", "threshold": 0.5}, {"id": "c"}]}))
        assert set(loop.slots) == {"a", "c"} and b.source.closed.is_set(), "b stopped, c started"
        assert loop.slots["a"].loop is a and a.detector.config.threshold == 0.5, "a changed in place"
        assert loop.detector is detector, "no model reload for a camera change"
        before = a.frames_processed
        wait_for(lambda: running.processed("c") >= 2 and a.frames_processed > before, 30,
                 what="the new camera counting and the kept one going on")
    finally:
        running.end()
        for feeder in feeders:
            feeder.stop()


def test_each_camera_reads_its_own_files_whatever_the_shared_defaults_say(tmp_path):
    """The component's defaults name the single camera's status file; a camera of a list never inherits it."""
    settings = Settings().updated({"source": str(tmp_path / "frame.jpg"), "state_file": "counts.json",
                                   "grabber_status": str(tmp_path / "frame.status.json"),
                                   "cameras": [{"id": "a"}, {"id": "b", "grabber_status": "/x/b.json"}]})
    a, b = settings.camera_settings()
    assert (a.source, a.grabber_status, a.state_file) == (str(tmp_path / "a.jpg"), "", "counts-a.json")
    assert (b.source, b.grabber_status, b.state_file) == (str(tmp_path / "b.jpg"), "/x/b.json", "counts-b.json")


def test_precision_auto_counts_in_fp32_at_once_and_switches_when_measured(tmp_path, fast_params, monkeypatch):
    """INT8 calibration can take minutes on a small CPU: counting must not wait for it."""
    from count_people.detectors.precision import PrecisionChoice
    from count_people.loop import scheduler
    from count_people.observability.metrics import _LiveCollector

    release = threading.Event()

    def slow_measure(settings, fp32, exclusive):
        release.wait(30)  # calibrating...
        int8 = fp32.retuned(fp32.config)
        int8.precision = "int8"
        return int8, PrecisionChoice("int8", "test cpu [avx2]", 20.0, 10.0, 0.97, "fastest")

    monkeypatch.setattr(scheduler, "measure", slow_measure)
    settings = camera_settings(tmp_path, fast_params, []).updated({"precision": "auto",
                                                                   "source": str(tmp_path / "frame.jpg")})
    feeder = FrameFeeder(tmp_path / "frame.jpg", fps=10)
    loop = MultiCameraLoop(settings)
    running = Running(loop)
    try:
        wait_for(lambda: running.processed("camera-1") >= 2, 30, what="counting before INT8 is ready")
        assert loop.slots["camera-1"].loop.detector.precision == "fp32"
        release.set()
        wait_for(lambda: loop.slots["camera-1"].loop.detector.precision == "int8", 10, what="the switch")
        view = loop.slots["camera-1"].loop.detector
        assert view.precision_choice.speedup == 2.0 and loop.detector.precision == "int8"
        families = _LiveCollector._precision("camera-1", view)
        exported = {m.name.removeprefix("people_counter_"): m.samples[0] for m in families}
        assert exported["precision"].labels["precision"] == "int8"
        assert exported["int8_speedup"].value == 2.0 and exported["int8_speedup"].labels["cpu"] == "test cpu [avx2]"
        done = running.processed("camera-1")
        wait_for(lambda: running.processed("camera-1") > done, 10, what="counting on after the switch")
    finally:
        running.end()
        feeder.stop()
