"""Property tests of the message builder (issue 15): whatever a detector returns, the message is valid JSON
within IoT Core's size limit, matches the schema, and its boxes stay in 0..1."""

from __future__ import annotations

import json

import jsonschema
from count_people.detectors.base import Detection
from count_people.message import build_message, encode_message
from hypothesis import given, settings
from hypothesis import strategies as st
from support import message_schema

SCHEMA = message_schema()
CLASSES = ("person", "car")
COORDINATE = st.floats(allow_nan=True, allow_infinity=True, width=32)
DETECTIONS = st.lists(st.builds(Detection, label=st.sampled_from((*CLASSES, "dog")),
                                score=st.floats(0.0, 1.0), box=st.tuples(*[COORDINATE] * 4)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(detections=DETECTIONS, width=st.integers(1, 8000), height=st.integers(1, 8000),
       max_boxes=st.integers(0, 500), limit=st.integers(2048, 128 * 1024))
def test_any_detections_give_a_valid_bounded_message(detections, width, height, max_boxes, limit):
    message = build_message(camera_id="cam-1", thing_name="thing-1", classes=CLASSES, detections=detections,
                            frame_size=(width, height), capture_time=1.5e9, publish_time=1.5e9, fps=10.0,
                            inference_ms=12.0, frame_age_ms=3.0, model="m", max_boxes=max_boxes)
    payload = encode_message(message, limit)
    assert len(payload) <= limit
    decoded = json.loads(payload, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    jsonschema.validate(decoded, SCHEMA)
    assert decoded["count"] == sum(d.label == "person" for d in detections)
    assert len(decoded["boxes"]) <= max_boxes
    assert all(0.0 <= v <= 1.0 for box in decoded["boxes"] for v in box["box"])
    assert decoded["truncated"] == (len(decoded["boxes"]) < len(detections))
