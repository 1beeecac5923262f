"""RTSP to MQTT with every real part: emulators -> grabber -> frame files -> counter -> IPC server -> mosquitto."""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Iterator

import jsonschema
import pytest
from frame_handoff import status_path
from local_stack.stack import LocalStack, StackOptions
from support import Subscriber, body_model_args, free_port, http_get, message_schema, shared_path, wait_for

pytestmark = pytest.mark.clean_install

STADTMITTE = "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"
CAMPUS = "footage/TUD-Campus/TUD-Campus.mp4"


@contextlib.contextmanager
def running(stack: LocalStack) -> Iterator[Subscriber]:
    """The started stack and a subscriber to every topic; afterwards no process of it is left running."""
    subscriber = None
    try:
        stack.start()
        subscriber = Subscriber(stack.mqtt_port, "#")
        yield subscriber
    finally:
        if subscriber is not None:
            subscriber.close()
        stack.stop()
    for service in stack.services.values():
        assert service.process is None, f"{service.name} left running"


def test_counts_flow_from_camera_to_mqtt_and_survive_a_camera_restart(tmp_path):
    video = shared_path(STADTMITTE)
    stack = LocalStack(StackOptions([str(video)], body_model_args(), grabber_fps=10, workdir=tmp_path))
    (camera,) = stack.cameras
    with running(stack) as subscriber:
        wait_for(lambda: stack.check() or len(subscriber.messages) >= 30, 90, what="30 counts over MQTT")
        messages = list(subscriber.messages)
        for message in messages:
            jsonschema.validate(message, message_schema())
            assert message["frame_age_ms"] < 1000, message
            assert message["count"] <= 15, message
            assert message["camera_id"] == camera.id == "TUD-Stadtmitte"
        counts = [m["count"] for m in messages]
        assert 1 <= statistics.median(counts) <= 15 and sum(1 <= c <= 15 for c in counts) >= 0.9 * len(counts)

        restarts = grabber_restarts(stack, camera.id)
        stack.stop_camera(camera.id)
        wait_for(lambda: grabber_restarts(stack, camera.id) > restarts, 15, what="the grabber to notice the outage")
        during_outage = len(subscriber.messages)
        wait_for(lambda: grabber_restarts(stack, camera.id) > restarts + 1, 15, what="a retry in vain")
        assert len(subscriber.messages) - during_outage <= 1, "no new frames while the camera is down"
        stack.start_camera(camera.id)
        wait_for(lambda: stack.check() or len(subscriber.messages) >= during_outage + 10, 30,
                 what="counts to resume after the camera came back")
        assert stack.services["grabber"].running and stack.services["counter"].running


def _get(port: int, path: str) -> tuple[int, str]:
    status, body = http_get(port, path, timeout=5)
    return status, body.decode()


def grabber_restarts(stack: LocalStack, camera_id: str) -> int:
    """Pipeline restarts the grabber's status file reports for one camera: each is an attempt that ended."""
    return json.loads(status_path(stack.frame_file(camera_id)).read_text())["restarts"]


def _rate(subscriber: Subscriber, cameras: list[str], messages: int, timeout: float) -> float:
    """Messages per second of the slowest of ``cameras``: ``messages`` more from each, over the time they took."""
    start, started = len(subscriber.messages), time.monotonic()

    def arrived() -> bool:
        window = subscriber.messages[start:]
        return all(sum(m["camera_id"] == c for m in window) >= messages for c in cameras)

    wait_for(arrived, timeout, 0.02, what=f"{messages} messages from each of {', '.join(cameras)}")
    return messages / (time.monotonic() - started)


def test_four_cameras_one_grabber_one_counter_outage_and_a_camera_added_live(tmp_path):
    """Issue 17 acceptance: four emulated cameras through one grabber and one counter (one model)."""
    stadtmitte, campus = str(shared_path(STADTMITTE)), str(shared_path(CAMPUS))
    http = free_port()
    counter_args = [*body_model_args(), "--http-port", str(http), "--health-timeout", "2"]
    sources = [f"c1={stadtmitte}", f"c2={campus}", f"c3={stadtmitte}", f"c4={campus}"]
    stack = LocalStack(StackOptions(sources, counter_args, grabber_fps=3, workdir=tmp_path,
                                    emulator_args=["--size", "320x240", "--fps", "10", "--bitrate-kbps", "400"]))
    ids = [c.id for c in stack.cameras]
    with running(stack) as subscriber:
        pids = {name: stack.services[name].process.pid for name in ("grabber", "counter")}
        wait_for(lambda: stack.check() or {m["camera_id"] for m in subscriber.messages} >= set(ids), 40,
                 what="messages of all four cameras")
        for message in subscriber.messages[-20:]:
            jsonschema.validate(message, message_schema())
        before = _rate(subscriber, ids, 8, 8 / 1.5)  # each near its 3 fps cap: at least 1.5 messages a second

        stack.stop_camera("c4")
        wait_for(lambda: json.loads(_get(http, "/healthz")[1]).get("stale") == ["c4"], 15,
                 what="/healthz to name c4 stale")
        status, body = _get(http, "/healthz")
        assert status == 503 and set(json.loads(body)["cameras"]) == set(ids)
        metrics = _get(http, "/metrics")[1]
        assert 'people_counter_healthy{camera="c4"} 0.0' in metrics
        assert 'people_counter_healthy{camera="c1"} 1.0' in metrics
        assert any(f'people_counter_grabber_state{{camera="c4",state="{s}"}} 1.0' in metrics
                   for s in ("backoff", "starting")), [ln for ln in metrics.splitlines() if "grabber_state" in ln]
        seen = len(subscriber.messages)
        during = _rate(subscriber, ["c1", "c2", "c3"], 8, 8 / 1.5)
        assert not [m for m in subscriber.messages[seen:] if m["camera_id"] == "c4"]
        assert during >= 0.7 * before, (before, during)

        stack.start_camera("c4")  # back on its own: nothing else is restarted
        seen = len(subscriber.messages)
        wait_for(lambda: stack.check() or any(m["camera_id"] == "c4" for m in subscriber.messages[seen:]), 20,
                 what="c4 counting again after its camera returned")
        wait_for(lambda: _get(http, "/healthz")[0] == 200, 10, what="/healthz healthy again")

        stack.add_camera(f"c5={campus}")  # a configuration update to both processes
        seen = len(subscriber.messages)
        wait_for(lambda: stack.check() or any(m["camera_id"] == "c5" for m in subscriber.messages[seen:]), 20,
                 what="the added camera c5 counting")
        assert {name: stack.services[name].process.pid for name in pids} == pids  # neither process restarted
        assert set(json.loads(_get(http, "/healthz")[1])["cameras"]) == {*ids, "c5"}

        def cpu() -> dict:
            return {c: json.loads((stack.frame_dir / f"{c}.status.json").read_text())["cpu_percent"]
                    for c in (*ids, "c5")}

        wait_for(lambda: all(value is not None for value in cpu().values()), 12, 0.5,
                 what="a CPU reading in every camera's status")  # c4 and c5 started their pipelines late
        print(f"grabber CPU per camera (% of one core, 320x240 10 fps stream, 3 fps cap): {cpu()}")
