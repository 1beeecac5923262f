"""Render the docs picture of a line and a zone as the live view draws them.

A synthetic scene (no camera footage may be committed) with walkers whose boxes stand in for
detections; the tracking hook counts them and the live view's own drawing code renders the
message. Usage: .venv/bin/python scripts/render_lines_zones.py docs/content/images/lines-and-zones.png
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.message import build_message
from count_people.observability.draw import annotate
from count_people.tracking.hook import LinesAndZones

WIDTH, HEIGHT = 640, 360


def scene() -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), (70, 70, 70), np.uint8)
    cv2.rectangle(image, (0, 0), (WIDTH, 120), (150, 140, 120), -1)  # back wall
    cv2.rectangle(image, (280, 20), (360, 120), (60, 90, 130), -1)  # door
    for x in range(0, WIDTH, 64):  # floor tiles
        cv2.line(image, (x, 120), (x * 2 - WIDTH // 2, HEIGHT), (90, 90, 90), 1)
    return image


def walker(image: np.ndarray, x: float, y: float, h: float) -> Detection:
    box = (x - h * 0.2, y - h, x + h * 0.2, y)
    cv2.ellipse(image, (int(x), int(y - h * 0.88)), (int(h * 0.09), int(h * 0.11)), 0, 0, 360, (120, 150, 200), -1)
    cv2.rectangle(image, (int(x - h * 0.15), int(y - h * 0.76)), (int(x + h * 0.15), int(y)), (160, 80, 60), -1)
    return Detection("person", 0.9, box)


def main(path: str) -> None:
    settings = Settings().updated({
        "lines": {"entrance": [[0.5, 0.98], [0.5, 0.35]]},
        "zones": {"counter": [[0.62, 0.55], [0.98, 0.55], [0.98, 0.98], [0.62, 0.98]]},
        "state_file": "", "tracker_confirm_s": 0,
    })
    hook = LinesAndZones(settings)
    # Three walk left to right through the line, one right to left; two wait in the zone.
    paths = [(60, 440, 300, 170), (30, 400, 350, 190), (120, 380, 250, 150), (460, 140, 280, 160)]
    steps = 40
    for step in range(steps):
        image = scene()
        detections = [walker(image, 520 + 60 * k, 330, 150) for k in range(2)]
        for start, stop, y, h in paths:
            detections.append(walker(image, start + (stop - start) * step / (steps - 1), y, h))
        message = build_message(
            camera_id="camera-1", thing_name="shop-7", classes=("person",), detections=detections,
            frame_size=(WIDTH, HEIGHT), capture_time=0.0, publish_time=0.0, fps=5.0, inference_ms=10.0,
            frame_age_ms=0.0, model="yolo-fastest-1.1_body", max_boxes=100)
        hook.annotate(Frame(image, 0.0, 0.0, step), detections, message)
    hook.close()
    cv2.imwrite(path, annotate(image, message))
    print(message["lines"], message["zones"])


if __name__ == "__main__":
    main(sys.argv[1])
