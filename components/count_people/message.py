"""The JSON message built for every processed frame (schema: schema/message.schema.json)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from count_people.config import IOT_CORE_MAX_PAYLOAD_BYTES
from count_people.detectors.base import Detection

#: 2: optional ``lines`` and ``zones`` (count_people/tracking/hook.py); optional ``dropped``.
#: 3: optional ``areas``, ``events`` and each zone's ``dwell`` (count_people/analytics/hook.py).
SCHEMA_VERSION = 3
#: AWS IoT Core rejects larger payloads, and the Java nucleus before it.
MAX_PAYLOAD_BYTES = IOT_CORE_MAX_PAYLOAD_BYTES


def build_message(
    *,
    camera_id: str,
    thing_name: str,
    classes: Sequence[str],
    detections: Sequence[Detection],
    frame_size: tuple[int, int],
    capture_time: float,
    publish_time: float,
    fps: float,
    inference_ms: float,
    frame_age_ms: float,
    model: str,
    max_boxes: int,
) -> dict[str, Any]:
    """Counts cover every detection; ``boxes`` keeps the ``max_boxes`` highest scores."""
    width, height = frame_size
    counts = {label: 0 for label in classes}
    for det in detections:
        counts[det.label] = counts.get(det.label, 0) + 1
    ranked = sorted(detections, key=lambda d: d.score, reverse=True)
    boxes = [
        {
            "label": det.label,
            "score": round(det.score, 4),
            "box": [_unit(det.box[0] / width), _unit(det.box[1] / height),
                    _unit(det.box[2] / width), _unit(det.box[3] / height)],
        }
        for det in ranked[:max_boxes]
    ]
    return {
        "schema": SCHEMA_VERSION,
        "camera_id": camera_id,
        "thing_name": thing_name,
        "capture_time": round(capture_time, 3),
        "publish_time": round(publish_time, 3),
        "label": classes[0],
        "count": counts[classes[0]],
        "counts": counts,
        "boxes": boxes,
        "truncated": len(boxes) < len(ranked),
        "frame_size": [width, height],
        "fps": round(fps, 3),
        "inference_ms": round(inference_ms, 1),
        "frame_age_ms": round(frame_age_ms, 1),
        "model": model,
    }


def _unit(value: float) -> float:
    """``value`` clamped to 0..1 and rounded; NaN (a network's 0/0) becomes 0, since JSON has no NaN."""
    return round(min(max(value, 0.0), 1.0), 4) if value == value else 0.0


def encode_message(message: dict[str, Any], limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """Compact JSON under ``limit`` bytes, dropping lowest-score boxes (and flagging it) if needed."""
    payload = json.dumps(message, separators=(",", ":")).encode()
    boxes = message.get("boxes", [])
    while len(payload) > limit and boxes:
        # Each box costs roughly the same; keep the share that fits, at least one fewer.
        keep = min(len(boxes) - 1, int(len(boxes) * limit / len(payload)))
        boxes = boxes[:keep]
        message = {**message, "boxes": boxes, "truncated": True}
        payload = json.dumps(message, separators=(",", ":")).encode()
    return payload
