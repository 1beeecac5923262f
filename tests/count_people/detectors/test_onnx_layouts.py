"""YOLOv5 and YOLOv8 ONNX layouts, decoded by both backends through the one shared code path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from count_people.errors import UserError
from yolo_graphs import INPUT, LABELS, save_graph, yolov5_rows
from yolo_models import load_yolo

# Frame 640x480 letterboxed into 128x128: scale 0.2, image rows 16..112 of the input.
ROWS = [
    # cx, cy, w, h (input pixels), objectness, p(person), p(car)
    (40, 66, 40, 80, 0.9, 0.95, 0.05),  # person at (100, 50, 300, 450) in the frame: score 0.855
    (42, 66, 40, 80, 0.8, 0.9, 0.1),  # same person, lower score: removed by NMS
    (44, 68, 40, 80, 0.9, 0.1, 0.9),  # car at (120, 60, 320, 460), overlapping the person: kept (per class)
    (100, 40, 10, 10, 0.2, 1.0, 0.0),  # below the threshold
    (100, 56, 40, 40, 0.0, 1.0, 0.0),  # person at (400, 100, 600, 300) scored by the input's red mean
]
RED_ROW = 4
EXPECTED = [("person", 0.855, (100, 50, 300, 450)), ("car", 0.81, (120, 60, 320, 460))]


def red_mean(frame_value: int) -> float:
    """Mean of the network input's R channel for a 640x480 frame letterboxed to 128x128 (grey 114)."""
    return 0.75 * frame_value / 255 + 0.25 * 114 / 255


def graph(tmp_path, layout: str):
    table = yolov5_rows(ROWS)
    mask = np.zeros_like(table)
    mask[0, RED_ROW, 4] = 1.0  # objectness of the red row
    if layout == "yolov8":  # (1, 4 + C, N), class scores = objectness * p, no objectness column
        scores = table[0, :, 4:5] * table[0, :, 5:]
        table = np.concatenate([table[0, :, :4], scores], axis=1).T[None].copy()
        mask = np.zeros_like(table)
        mask[0, 4, RED_ROW] = 1.0  # person score of the red row
    return save_graph(tmp_path / f"{layout}.onnx", table, mask)


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n")
    return path


def frame(bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((480, 640, 3), bgr, dtype=np.uint8)


@pytest.mark.parametrize("backend", ["opencv", "onnxruntime"])
@pytest.mark.parametrize("layout", ["yolov5", "yolov8"])
def test_decodes_known_boxes_in_frame_pixels(tmp_path, labels, backend, layout):
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    detector = load_yolo(detector=backend, model=graph(tmp_path, layout), labels=labels, classes="person,car",
                         threshold=0.3)
    assert detector.layout == layout and detector.input_size == (INPUT, INPUT)

    blue = detector.detect(frame((128, 0, 0)))  # R channel empty: red row scores only the letterbox grey
    assert [(d.label, round(d.score, 3)) for d in blue] == [(label, score) for label, score, _ in EXPECTED]
    for det, (_, _, box) in zip(blue, EXPECTED):
        np.testing.assert_allclose(det.box, box, atol=1e-3)

    red = detector.detect(frame((0, 0, 128)))  # BGR red: becomes channel 0 after swapRB, scaled to 0..1
    extra = [d for d in red if d.box[0] > 350]
    assert len(red) == 3 and len(extra) == 1
    assert extra[0].score == pytest.approx(red_mean(128), abs=1e-3)
    np.testing.assert_allclose(extra[0].box, (400, 100, 600, 300), atol=1e-3)


def test_stretch_maps_each_axis_by_its_own_scale(tmp_path, labels):
    detector = load_yolo(detector="opencv", model=graph(tmp_path, "yolov5"), labels=labels,
                         threshold=0.5, resize_mode="stretch")
    (person,) = detector.detect(frame((90, 90, 90)))
    sx, sy = INPUT / 640, INPUT / 480  # 0.2 and 0.2667: a 640x480 frame squeezed into 128x128
    np.testing.assert_allclose(person.box, (20 / sx, 26 / sy, 60 / sx, 106 / sy), atol=1e-3)


def test_counts_only_the_configured_class_under_its_alias(tmp_path, labels):
    detector = load_yolo(detector="opencv", model=graph(tmp_path, "yolov8"), labels=labels, classes="vehicle",
                         class_alias="car=vehicle", threshold=0.5)
    assert [d.label for d in detector.detect(frame((90, 90, 90)))] == ["vehicle"]


@pytest.mark.parametrize("backend", ["opencv", "onnxruntime"])
def test_labels_that_do_not_fit_the_output_give_one_line(tmp_path, backend):
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    three = tmp_path / "three.txt"
    three.write_text("person\ncar\nbus\n")
    with pytest.raises(UserError, match=r"do not fit 3 class\(es\)") as caught:
        load_yolo(detector=backend, model=graph(tmp_path, "yolov5"), labels=three)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("backend", ["opencv", "onnxruntime"])
def test_corrupt_model_gives_one_line(tmp_path, labels, backend):
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(graph(tmp_path, "yolov5").read_bytes()[:300])
    with pytest.raises(UserError, match="cannot load model") as caught:
        load_yolo(detector=backend, model=corrupt, labels=labels)
    assert "\n" not in str(caught.value)


def test_both_backends_agree(tmp_path, labels):
    pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    model = graph(tmp_path, "yolov5")
    image = cv2.resize(np.random.default_rng(1).integers(0, 255, (12, 16, 3), dtype=np.uint8), (640, 480))
    results = [
        load_yolo(detector=backend, model=model, labels=labels, classes="person,car", threshold=0.3).detect(image)
        for backend in ("opencv", "onnxruntime")
    ]
    assert [d.label for d in results[0]] == [d.label for d in results[1]]
    np.testing.assert_allclose([d.box for d in results[0]], [d.box for d in results[1]], atol=1e-2)
