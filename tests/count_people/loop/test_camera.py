"""The counting loop with real parts: live reconfiguration, MQTT delivery, shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from count_people.config import Settings
from count_people.errors import UserError
from count_people.loop import CountingLoop
from gluoncv_params import FAST_GLUONCV_MODEL
from support import Subscriber, jpeg_bytes, replace_frame, wait_for

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")


@pytest.fixture
def settings(tmp_path, fast_params):
    return Settings().updated({
        "source": str(tmp_path / "frame.jpg"), "model": FAST_GLUONCV_MODEL, "params": str(fast_params),
        "threshold": 0.0, "classes": "person,car,dog,chair,bottle", "stats_interval": 0,
    })


class Running:
    """A CountingLoop running in a thread until the test ends."""

    def __init__(self, counter: CountingLoop) -> None:
        self.counter, self.stop = counter, threading.Event()
        self.thread = threading.Thread(target=counter.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


def test_threshold_and_classes_change_live(settings, frame_bgr, mosquitto):
    settings = settings.updated({"publish": mosquitto.url, "topic": "people/{thing}/{camera}", "camera_id": "c1"})
    subscriber = Subscriber(mosquitto.port, "people/+/c1")
    counter = CountingLoop(settings)
    running = Running(counter)
    frame_file = Path(settings.source)
    try:
        replace_frame(frame_file, jpeg_bytes(frame_bgr, 80))
        first = wait_for(lambda: subscriber.messages, 30, what="first message")[0]
        assert first["boxes"], "threshold 0 keeps every detection of random weights"
        detector = counter.detector
        counter.reconfigure(settings.updated({"threshold": 1.0, "classes": "person"}))
        # A retuned copy of the detector (never changed under a frame in flight) around the same loaded network.
        assert counter.detector.net is detector.net, "threshold and classes apply without reloading the model"
        assert detector.config.threshold == 0.0, "the running detector's config is never changed in place"
        replace_frame(frame_file, jpeg_bytes(frame_bgr, 81))
        wait_for(lambda: len(subscriber.messages) >= 2, 30, what="second message")
        second = subscriber.messages[1]
        assert set(second["counts"]) == {"person"}
        assert all(box["score"] >= 1.0 for box in second["boxes"])
        with pytest.raises(UserError, match="unknown class"):
            counter.reconfigure(settings.updated({"classes": "unicorn"}))
        assert counter.settings.classes == ("person",), "a rejected update keeps the old configuration"
    finally:
        running.end()
        subscriber.close()


def test_model_change_reloads_detector_in_place(settings, tmp_path):
    counter = CountingLoop(settings)
    old = counter.detector
    counter.reconfigure(settings.updated({"input_size": 300}))
    assert counter.detector is not old and counter.detector.config.input_size == 300
    with pytest.raises(UserError):
        counter.reconfigure(settings.updated({"model": "yolo3_mobilenet1.0_voc"}))
    assert counter.settings.input_size == 300 and counter.detector.config.model == FAST_GLUONCV_MODEL
