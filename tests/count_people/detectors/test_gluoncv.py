"""GluonCV backend, loaded through --params from weights the test makes (no download)."""

from __future__ import annotations

import numpy as np
import pytest
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.gluoncv import resized_shape
from count_people.errors import UserError
from gluoncv_params import FAST_GLUONCV_MODEL, make_gluoncv_params

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")


def load(params, **changes):
    settings = Settings().updated({"model": FAST_GLUONCV_MODEL, "params": str(params), **changes})
    detector = create_detector(settings)
    detector.load()
    detector.check_classes(settings.classes)
    return detector


def test_resized_shape_follows_gluoncv():
    assert resized_shape(480, 640, 512, 1024) == (512, 683)
    assert resized_shape(720, 1280, 512, 1024) == (512, 910)
    assert resized_shape(100, 2000, 512, 1024) == (51, 1024)  # long side capped


def test_loads_params_and_lists_voc_classes(fast_params):
    detector = load(fast_params)
    assert "person" in detector.class_names and len(detector.class_names) == 20


@pytest.mark.parametrize("size", [(480, 640), (720, 1280), (400, 300)])
def test_boxes_are_scaled_to_original_pixels(fast_params, frame_bgr, size):
    import cv2

    height, width = size
    image = cv2.resize(frame_bgr, (width, height))
    detector = load(fast_params, threshold=0.0, classes=",".join(("person", "car", "dog", "chair")))
    batch = detector.preprocess(image)
    ids, scores, boxes = (out[0].asnumpy() for out in detector.net(batch))
    scale = np.array([width / batch.shape[3], height / batch.shape[2]] * 2)
    wanted = {detector.class_names.index(c) for c in detector.config.classes}
    expected = sorted(
        tuple(np.clip(box * scale, 0, [width, height, width, height]).round(2))
        for cid, score, box in zip(ids[:, 0].astype(int), scores[:, 0], boxes)
        if cid in wanted and score >= 0.0
    )
    detections = detector.detect(image)
    assert sorted(tuple(np.round(d.box, 2)) for d in detections) == expected
    assert min(batch.shape[2:]) == 512  # short side to input_size
    for det in detections:
        x0, y0, x1, y1 = det.box
        assert 0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height


def test_only_configured_classes_above_threshold(fast_params, frame_bgr):
    everything = load(fast_params, threshold=0.0, classes=",".join(
        ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
         "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
         "train", "tvmonitor"))).detect(frame_bgr)
    labels_seen = {d.label for d in everything}
    assert len(labels_seen) >= 2, "random weights should produce several classes"
    one_class = sorted(labels_seen)[0]
    only = load(fast_params, threshold=0.0, classes=one_class).detect(frame_bgr)
    assert only and {d.label for d in only} == {one_class}
    assert len(only) == sum(d.label == one_class for d in everything)
    cut = np.median([d.score for d in everything])
    above = load(fast_params, threshold=float(cut), classes=",".join(labels_seen)).detect(frame_bgr)
    assert all(d.score >= cut for d in above) and len(above) == sum(d.score >= cut for d in everything)


def test_unknown_class_lists_valid_names(fast_params):
    with pytest.raises(UserError, match=r"unknown class 'persons'.*valid classes: aeroplane, bicycle"):
        load(fast_params, classes="persons")


def test_params_of_another_model_is_a_one_line_error(tmp_path, fast_params):
    with pytest.raises(UserError) as error:
        load(fast_params, model="yolo3_mobilenet1.0_voc")
    assert "cannot load" in str(error.value) and "\n" not in str(error.value)


def test_corrupt_params_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.params"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(UserError) as error:
        load(bad)
    assert "cannot load" in str(error.value) and "\n" not in str(error.value)


def test_missing_gpu_is_a_clear_error(fast_params):
    with pytest.raises(UserError, match=r"gpu:0 requested but MXNet sees 0 GPU"):
        load(fast_params, context="gpu:0")


def test_default_model_loads_from_params(tmp_path, frame_bgr):
    params = make_gluoncv_params("ssd_512_resnet50_v1_voc", tmp_path / "resnet.params")
    settings = Settings().updated({"params": str(params), "threshold": 0.0})
    detector = create_detector(settings)
    detector.load()
    assert detector.name == "ssd_512_resnet50_v1_voc"
    assert all(d.label == "person" for d in detector.detect(frame_bgr))
