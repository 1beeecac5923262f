"""Messages: built from real detections, valid against the JSON Schema, under IoT Core's limit."""

from __future__ import annotations

import json

import jsonschema
import pytest
from count_people.detectors.base import Detection
from count_people.message import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, build_message, encode_message
from support import message_schema

SCHEMA = message_schema()


def message_with(detections, max_boxes=100, classes=("person",)):
    return build_message(
        camera_id="cam", thing_name="thing", classes=classes, detections=detections, frame_size=(640, 480),
        capture_time=1700000000.12345, publish_time=1700000000.5, fps=2.6561, inference_ms=12.34,
        frame_age_ms=45.67, model="m", max_boxes=max_boxes,
    )


def test_message_fields_and_normalised_boxes():
    message = message_with([Detection("person", 0.91234, (64.0, 48.0, 320.0, 480.0)),
                            Detection("car", 0.5, (0.0, 0.0, 700.0, 10.0))], classes=("person", "car", "dog"))
    jsonschema.validate(message, SCHEMA)
    assert message["schema"] == SCHEMA_VERSION
    assert message["count"] == 1 and message["label"] == "person"
    assert message["counts"] == {"person": 1, "car": 1, "dog": 0}
    assert message["boxes"][0] == {"label": "person", "score": 0.9123, "box": [0.1, 0.1, 0.5, 1.0]}
    assert message["boxes"][1]["box"] == [0.0, 0.0, 1.0, 0.0208]  # clipped to the frame
    assert message["capture_time"] == 1700000000.123 and message["truncated"] is False


def test_max_boxes_keeps_highest_scores_and_flags_truncation():
    detections = [Detection("person", score / 100, (0, 0, 10, 10)) for score in range(50)]
    message = message_with(detections, max_boxes=5)
    assert [b["score"] for b in message["boxes"]] == [0.49, 0.48, 0.47, 0.46, 0.45]
    assert message["truncated"] is True and message["count"] == 50


def test_payload_stays_under_iot_core_limit():
    detections = [Detection("person", 0.5 + i / 10**6, (i % 640, i % 480, 640, 480)) for i in range(5000)]
    payload = encode_message(message_with(detections, max_boxes=5000))
    assert len(payload) <= MAX_PAYLOAD_BYTES
    decoded = json.loads(payload)
    jsonschema.validate(decoded, SCHEMA)
    assert decoded["truncated"] is True and 1000 < len(decoded["boxes"]) < 5000
    scores = [b["score"] for b in decoded["boxes"]]
    assert scores == sorted(scores, reverse=True) and max(scores) == pytest.approx(0.505, abs=1e-3)


def test_small_message_is_not_truncated():
    payload = encode_message(message_with([Detection("person", 0.9, (1, 2, 3, 4))]))
    assert json.loads(payload)["truncated"] is False
