"""RTSP to MQTT with every real part: emulator -> grabber -> frame file -> counter -> IPC server -> mosquitto."""

from __future__ import annotations

import statistics
import time

import jsonschema
import pytest
from local_stack.stack import LocalStack, StackOptions
from support import Subscriber, body_model_args, message_schema, shared_path, wait_for

pytestmark = pytest.mark.clean_install


def test_counts_flow_from_camera_to_mqtt_and_survive_a_camera_restart(tmp_path):
    video = shared_path("footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")
    stack = LocalStack(StackOptions(str(video), body_model_args(), grabber_fps=10, workdir=tmp_path))
    subscriber = None
    try:
        stack.start()
        subscriber = Subscriber(stack.mqtt_port, "#")
        wait_for(lambda: stack.check() or len(subscriber.messages) >= 30, 90, what="30 counts over MQTT")
        messages = list(subscriber.messages)
        for message in messages:
            jsonschema.validate(message, message_schema())
            assert message["frame_age_ms"] < 1000, message
            assert message["count"] <= 15, message
        counts = [m["count"] for m in messages]
        assert 1 <= statistics.median(counts) <= 15 and sum(1 <= c <= 15 for c in counts) >= 0.9 * len(counts)

        stack.stop_emulator()
        time.sleep(3)  # let the chain notice the camera is gone
        during_outage = len(subscriber.messages)
        time.sleep(2)
        assert len(subscriber.messages) - during_outage <= 1, "no new frames while the camera is down"
        stack.start_emulator()
        wait_for(lambda: stack.check() or len(subscriber.messages) >= during_outage + 10, 30,
                 what="counts to resume after the camera came back")
        assert stack.services["grabber"].running and stack.services["counter"].running
    finally:
        if subscriber is not None:
            subscriber.close()
        stack.stop()
    for service in stack.services.values():
        assert service.process is None, f"{service.name} left running"
