"""/metrics and /healthz of a running counter on real footage: values move with frames, health flips."""

from __future__ import annotations

import json
import time

import pytest
from gst_grabber.status import GrabberStatus, write_atomic
from running_counter import CAMERA, RunningCounter
from support import free_port, wait_for

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("metrics")
    running = RunningCounter(workdir, "--health-timeout", "3")
    yield running
    running.stop()


def test_metrics_move_with_real_frames(counter):
    first = wait_for(lambda: (counter.value("people_counter_frames_processed_total") or 0) >= 3 and counter.metrics(),
                     60, 0.2, "3 processed frames")
    processed = first[("people_counter_frames_processed_total", (("camera", CAMERA),))]
    wait_for(lambda: counter.value("people_counter_frames_processed_total") >= processed + 5, 30, 0.2,
             "the processed-frames counter to move")
    # Compare counters exactly once no frame is in flight (the feeder paused, two scrapes alike).
    counter.feeder.pause()
    try:
        previous: list = [None]

        def settled():
            now = counter.metrics()
            same = now.get(("people_counter_frames_processed_total", (("camera", CAMERA),))) == previous[0]
            previous[0] = now.get(("people_counter_frames_processed_total", (("camera", CAMERA),)))
            return same and now

        after = wait_for(settled, 30, 0.3, "the counter to settle")
    finally:
        counter.feeder.resume()

    def sample(name, **labels):
        return after[(name, tuple(sorted({"camera": CAMERA, **labels}.items())))]

    frames = sample("people_counter_frames_processed_total")
    assert sample("people_counter_inference_seconds_count") == frames
    assert sample("people_counter_end_to_end_seconds_count") == frames
    assert 0 < sample("people_counter_inference_seconds_sum") / sample("people_counter_inference_seconds_count") < 2
    assert sample("people_counter_detections_total", **{"class": "person"}) > 0, "the footage shows people"
    assert 0 <= sample("people_counter_count", **{"class": "person"}) <= 30
    assert sample("people_counter_messages_published_total") == frames
    assert sample("people_counter_publish_failures_total") == 0
    assert sample("people_counter_frames_skipped_total") == 0
    assert sample("people_counter_publisher_up") == 1
    assert sample("people_counter_fps") > 0
    assert abs(sample("people_counter_last_frame_timestamp_seconds") - time.time()) < 30
    load = [v for (name, _), v in after.items() if name == "people_counter_model_load_seconds"]
    assert load and load[0] > 0
    # Lines and zones from the tracking feature are exported generically.
    assert ("people_counter_zone_occupancy", (("camera", CAMERA), ("class", "person"), ("zone", "left"))) in after
    assert any(name == "people_counter_line_crossings_total" and dict(labels).get("line") == "middle"
               for name, labels in after)


def test_grabber_status_file_is_exported(counter):
    status = GrabberStatus(camera="rtsp://cam/stream", frame_path=str(counter.feeder.path), state="running",
                           attempt=3, restarts=2, last_frame_unix=time.time())
    write_atomic(counter.feeder.path.with_name("frame.status.json"), status.to_json())
    wait_for(lambda: counter.value("people_counter_grabber_restarts_total") == 2, 10, 0.2, "grabber restarts")
    assert counter.value("people_counter_grabber_state", state="running") == 1
    assert counter.value("people_counter_grabber_state", state="backoff") == 0
    assert abs(counter.value("people_counter_grabber_last_frame_timestamp_seconds") - status.last_frame_unix) < 0.01
    assert json.loads(counter.get("/healthz")[1])["grabber"]["restarts"] == 2


def test_healthz_flips_when_frames_stop_and_resume(counter):
    wait_for(lambda: counter.get("/healthz")[0] == 200, 30, 0.2, "healthy while frames arrive")
    counter.feeder.pause()
    try:
        _, body = wait_for(lambda: (r := counter.get("/healthz"))[0] == 503 and r, 30, 0.2, "unhealthy")
        assert "no new frame" in json.loads(body)["reasons"][0]
        assert counter.value("people_counter_healthy") == 0
    finally:
        counter.feeder.resume()
    wait_for(lambda: counter.get("/healthz")[0] == 200, 30, 0.2, "healthy again after frames resumed")
    assert counter.value("people_counter_healthy") == 1


def test_healthz_fails_while_the_publisher_cannot_deliver(tmp_path):
    """A broker that is not there: frames keep coming, yet the counter is unhealthy after the timeout."""
    counter = RunningCounter(tmp_path, "--publish", f"mqtt://127.0.0.1:{free_port()}", "--health-timeout", "2")
    try:
        _, body = wait_for(lambda: (r := counter.get("/healthz"))[0] == 503 and r, 30, 0.2, "unhealthy")
        reasons = json.loads(body)["reasons"]
        assert any(reason.startswith("publisher unable to deliver for ") for reason in reasons), reasons
        assert counter.value("people_counter_publisher_up") == 0
        assert counter.value("people_counter_frames_processed_total") > 0
    finally:
        counter.stop()
