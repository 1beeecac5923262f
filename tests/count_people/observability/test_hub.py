"""One HTTP server for several cameras: merged /metrics, /healthz naming stale cameras, a live view each."""

from __future__ import annotations

import json
import threading

import pytest
from count_people.config import Settings
from count_people.loop import MultiCameraLoop
from count_people.observability.hub import Observability
from count_people.tracking.hook import create_tracking_hooks
from gluoncv_params import FAST_GLUONCV_MODEL
from local_stack.services import free_port
from prometheus_client.parser import text_string_to_metric_families
from running_counter import FrameFeeder
from support import http_get as get
from support import wait_for

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")
pytestmark = pytest.mark.shared


def health(port: int) -> tuple[int, dict]:
    status, body = get(port, "/healthz")
    return status, json.loads(body)


def processed_by_camera(port: int) -> dict[str, float]:
    text = get(port, "/metrics")[1].decode()
    assert text.count("# TYPE people_counter_frames_processed_total") == 1, "one family for every camera"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {s.labels["camera"]: s.value for s in families["people_counter_frames_processed"].samples}


def test_one_server_serves_every_camera(tmp_path, fast_params):
    port = free_port()
    settings = Settings().updated({
        "source": str(tmp_path / "frame.jpg"), "model": FAST_GLUONCV_MODEL, "params": str(fast_params),
        "input_size": 320, "threshold": 0.2, "classes": "person", "stats_interval": 0, "state_file": "",
        "publish": "stdout", "http_port": port, "health_timeout": 2, "cameras": [{"id": "a"}, {"id": "b"}],
    })
    feeders = {name: FrameFeeder(tmp_path / f"{name}.jpg", fps=4) for name in "abc"}
    hub = Observability(settings)
    loop = MultiCameraLoop(settings, (create_tracking_hooks, hub.create_hooks), services=[hub])
    stop = threading.Event()
    runner = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_for(lambda: health(port)[0] == 200, 60, what="both cameras healthy")
        assert health(port)[1]["stale"] == [] and set(health(port)[1]["cameras"]) == {"a", "b"}
        wait_for(lambda: all(processed_by_camera(port).get(c, 0) > 0 for c in "ab"), 30, what="metrics of a and b")
        assert json.loads(get(port, "/api/cameras")[1]) == {"cameras": ["a", "b"]}
        assert json.loads(get(port, "/api/state?camera=b")[1])["camera_id"] == "b"
        assert get(port, "/frame.jpg?camera=a")[0] == 200 and get(port, "/frame.jpg?camera=zz")[0] == 404

        feeders["b"].pause()
        _, document = wait_for(lambda: (h := health(port))[0] == 503 and h, 20, what="b reported stale")
        assert document["stale"] == ["b"] and all(r.startswith("b: ") for r in document["reasons"])
        assert document["cameras"]["a"]["status"] == "ok"
        feeders["b"].resume()
        wait_for(lambda: health(port)[0] == 200, 20, what="b fresh again on its own")

        loop.reconfigure(settings.updated({"cameras": [{"id": "a"}, {"id": "c"}]}))
        assert json.loads(get(port, "/api/cameras")[1]) == {"cameras": ["a", "c"]}
        wait_for(lambda: processed_by_camera(port).get("c", 0) > 0, 30, what="the added camera in /metrics")
        assert "b" not in processed_by_camera(port), "a removed camera leaves /metrics"
    finally:
        stop.set()
        runner.join(10)
        for feeder in feeders.values():
            feeder.stop()
    assert get(port, "/healthz", timeout=2) == (0, b""), "the server closes with the loop"
