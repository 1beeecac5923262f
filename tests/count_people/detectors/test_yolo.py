"""Shared YOLO pre/post-processing: letterbox geometry against OpenCV's own blob, per-class NMS."""

from __future__ import annotations

import numpy as np
import pytest
from count_people.detectors.yolo import Geometry, make_blob, select
from count_people.detectors.yolo_layouts import candidates


@pytest.mark.parametrize("frame_size", [(640, 480), (480, 640), (1280, 720), (300, 301)])
@pytest.mark.parametrize("letterbox", [True, False])
@pytest.mark.parametrize("input_size", [(320, 320), (416, 256)])
def test_a_box_found_in_the_blob_maps_back_to_the_frame(frame_size, letterbox, input_size):
    width, height = frame_size
    image = np.zeros((height, width, 3), np.uint8)
    box = (width // 5, height // 4, width // 5 + width // 3, height // 4 + height // 2)  # x0, y0, x1, y1
    image[box[1]:box[3], box[0]:box[2]] = 255
    blob, geometry = make_blob(image, input_size, letterbox)
    assert blob.shape == (1, 3, input_size[1], input_size[0]) and blob.dtype == np.float32
    ys, xs = np.nonzero(blob[0, 0] > 0.5)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    found = geometry.to_frame(np.array([[(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]], np.float32))[0]
    pixel = max(1 / geometry.scale_x, 1 / geometry.scale_y)  # one input pixel, in frame pixels
    np.testing.assert_allclose(found, box, atol=1.5 * pixel)
    if letterbox:
        assert geometry.scale_x == pytest.approx(geometry.scale_y, rel=0.02)
    if letterbox and (geometry.pad_x or geometry.pad_y):
        np.testing.assert_allclose(blob[0, :, 0, 0], 114 / 255, rtol=1e-5)  # corner is padding


def test_letterbox_pads_the_short_side_evenly():
    geometry = Geometry.fit(640, 480, 320, 320, letterbox=True)
    assert (geometry.scale_x, geometry.scale_y, geometry.pad_x, geometry.pad_y) == (0.5, 0.5, 0, 40)


def test_boxes_are_clipped_to_the_frame():
    geometry = Geometry.fit(640, 480, 320, 320, letterbox=False)
    box = geometry.to_frame(np.array([[5, 315, 20, 20]], np.float32))[0]
    np.testing.assert_allclose(box, (0, 457.5, 30, 480))  # centre y 472.5, height 30


def test_nms_is_per_class():
    boxes = np.array([[0, 0, 100, 200], [5, 0, 105, 200], [0, 0, 100, 200], [300, 0, 400, 200]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert sorted(select(boxes, scores, classes, 0.45).tolist()) == [0, 2, 3]
    assert sorted(select(boxes, scores, classes, 0.95).tolist()) == [0, 1, 2, 3]  # IoU 0.905 is kept
    assert select(boxes[:0], scores[:0], classes[:0], 0.45).size == 0


def test_darknet_rows_are_relative_and_already_scored():
    rows = np.array([[0.5, 0.5, 0.25, 0.5, 0.9, 0.6, 0.1], [0.1, 0.1, 0.1, 0.1, 0.3, 0.3, 0.0]], np.float32)
    boxes, scores, ids = candidates([rows[:1], rows[1:]], "darknet", (320, 160), threshold=0.5)
    np.testing.assert_allclose(boxes, [[160, 80, 80, 80]])
    np.testing.assert_allclose(scores, [0.6])  # class score, not objectness * class score
    assert ids.tolist() == [0]
