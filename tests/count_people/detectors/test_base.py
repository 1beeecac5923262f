"""What every backend shares: the boxes ``detect`` returns."""

from __future__ import annotations

from typing import Any

import numpy as np
from count_people.config import Settings
from count_people.detectors.base import Detection, DetectorConfig, StagedDetector

BOXES = [Detection("person", 0.9, (10.0, 10.0, 50.0, 110.0)),  # 100 px tall
         Detection("person", 0.9, (60.0, 10.0, 80.0, 60.0))]  # 50 px tall: a person far away, or on a poster


class Fixed(StagedDetector):
    """A backend whose network finds ``BOXES`` in any frame."""

    class_names = ("person",)

    def load(self) -> None:
        pass

    def prepare(self, image: np.ndarray) -> tuple[Any, Any]:
        return image, None

    def forward(self, inputs: Any) -> Any:
        return BOXES

    def postprocess(self, outputs: Any, context: Any) -> list[Detection]:
        return list(outputs)


def detect(min_box_height: float, frame_height: int = 400) -> list[Detection]:
    config = DetectorConfig.from_settings(Settings().updated({"min_box_height": min_box_height}))
    return Fixed(config).detect(np.zeros((frame_height, 640, 3), np.uint8))


def test_boxes_shorter_than_min_box_height_of_the_frame_are_not_detected():
    assert detect(0.0) == BOXES  # the default: every size
    assert detect(0.2) == BOXES[:1]  # 80 px at 400 px high
    assert detect(0.2, frame_height=200) == BOXES  # 40 px: a fraction of the frame, whatever its resolution
    assert detect(0.25) == BOXES[:1] and detect(0.26) == []  # exactly as tall counts
