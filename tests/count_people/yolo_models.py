"""YOLO test helpers: the shared Yolo-Fastest models with their recommended settings, and loading."""

from __future__ import annotations

from pathlib import Path

from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.yolo import YoloDetector
from support import shared_path

YOLO_FASTEST = "models/yolo-fastest"


def load_yolo(**changes: object) -> YoloDetector:
    settings = Settings().updated({key: str(value) for key, value in changes.items()})
    detector = create_detector(settings)
    detector.load()
    detector.check_classes(settings.classes)
    return detector


def body_model() -> dict[str, Path]:
    """Settings of the person-only Yolo-Fastest model with the documented thresholds (skips without ../shared)."""
    folder = shared_path(YOLO_FASTEST)
    return {
        "detector": "opencv",
        "model": folder / "yolo-fastest-1.1_body.cfg",
        "params": folder / "yolo-fastest-1.1_body.weights",
        "labels": folder / "body.names",
        "class_alias": "body=person",
        "threshold": 0.48,
        "nms_threshold": 0.55,
    }


def coco_model() -> dict[str, Path]:
    folder = shared_path(YOLO_FASTEST)
    return {
        "detector": "opencv",
        "model": folder / "yolo-fastest-1.1.cfg",
        "params": folder / "yolo-fastest-1.1.weights",
        "labels": folder / "coco.names",
        "threshold": 0.4,
        "nms_threshold": 0.45,
    }
