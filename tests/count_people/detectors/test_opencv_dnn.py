"""OpenCV DNN backend on the real Yolo-Fastest Darknet weights in ../shared, and its load errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from count_people.detectors.opencv_dnn import onnx_input_size
from count_people.errors import UserError
from count_people.evaluation.accuracy import count_matches
from count_people.evaluation.ground_truth import load_ground_truth
from support import shared_path
from yolo_graphs import save_graph, yolov5_rows
from yolo_models import body_model, coco_model, load_yolo


def first_frame(sequence: str) -> np.ndarray:
    capture = cv2.VideoCapture(str(shared_path(f"footage/{sequence}/{sequence}.mp4")))
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


@pytest.mark.shared
@pytest.mark.parametrize("settings", [body_model, coco_model], ids=["body", "coco"])
def test_darknet_finds_the_people_of_a_real_frame(settings):
    detector = load_yolo(**settings())
    assert detector.layout == "darknet" and detector.input_size == (320, 320)
    assert "person" in detector.class_names
    detections = detector.detect(first_frame("TUD-Campus"))
    truth = load_ground_truth(shared_path("footage/TUD-Campus/gt/gt.txt"))[1]
    boxes = np.array([d.box for d in detections])
    assert {d.label for d in detections} == {"person"}
    assert ((boxes >= 0) & (boxes <= [640, 480, 640, 480])).all()
    # 5 people in frame 1, two of them half hidden: at least 3 found where they are, none invented.
    assert count_matches(boxes, truth) >= 3
    assert len(detections) <= len(truth) + 1


@pytest.mark.shared
def test_weights_of_another_model_give_one_line():
    settings = coco_model()
    settings["params"] = body_model()["params"]
    with pytest.raises(UserError, match="weights belong to another model") as caught:
        load_yolo(**settings)
    assert "\n" not in str(caught.value)


@pytest.mark.shared
def test_labels_of_another_model_give_one_line():
    settings = coco_model()
    settings["labels"] = body_model()["labels"]
    with pytest.raises(UserError, match=r"outputs 80 class.*has 1"):
        load_yolo(**settings)


@pytest.mark.shared
def test_unknown_alias_and_missing_weights_are_reported():
    with pytest.raises(UserError, match="class_alias names human"):
        load_yolo(**{**body_model(), "class_alias": "human=person"})
    settings = body_model()
    del settings["params"]
    with pytest.raises(UserError, match="needs its weights"):
        load_yolo(**settings)


def test_corrupt_darknet_cfg_gives_one_line(tmp_path):
    cfg, weights, labels = tmp_path / "m.cfg", tmp_path / "m.weights", tmp_path / "m.names"
    cfg.write_text("[net]\nwidth=320\nheight=320\n[convolutional]\nfilters=oops\n")
    weights.write_bytes(b"\0" * 64)
    labels.write_text("person\n")
    with pytest.raises(UserError, match="cannot load model") as caught:
        load_yolo(detector="opencv", model=cfg, params=weights, labels=labels)
    assert "\n" not in str(caught.value)


def test_onnx_input_size_is_read_from_the_graph(tmp_path):
    table = yolov5_rows([(1, 1, 1, 1, 0, 0, 0)])
    fixed = save_graph(tmp_path / "fixed.onnx", table, np.zeros_like(table), input_shape=(1, 3, 96, 160))
    assert onnx_input_size(str(fixed)) == (160, 96)
    dynamic = save_graph(tmp_path / "dynamic.onnx", table, np.zeros_like(table), input_shape=(1, 3, "h", "w"))
    assert onnx_input_size(str(dynamic)) is None
