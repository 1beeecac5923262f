"""Per-model calibration files: found beside the model (else shipped), applied where keys are at defaults."""

from __future__ import annotations

import json
import logging

import pytest
from count_people.config import Settings
from count_people.detectors import calibration, detector_config
from count_people.detectors.catalog import CATALOG


@pytest.fixture(autouse=True)
def _fresh():
    calibration.load_calibration.cache_clear()
    yield
    calibration.load_calibration.cache_clear()


def calibrated_model(tmp_path, **changes):
    model = tmp_path / "mine.onnx"
    model.write_bytes(b"weights")
    data = {"format": 1, "model": model.name, "sha256": calibration.file_sha256(model), "floor": 0.15,
            "nms_threshold": 0.6, "modes": {"detections": {"threshold": 0.42}, "tracks": {"threshold": 0.5}},
            "auto": [[0.0, "detections"]], **changes}
    calibration.beside(str(model)).write_text(json.dumps(data))
    return model


def config(model, **changes):
    return detector_config(Settings().updated({"detector": "onnxruntime", "model": str(model), **changes}))


def test_the_detector_runs_at_the_floor_unless_counting_from_detections(tmp_path):
    model = calibrated_model(tmp_path)
    assert (config(model).threshold, config(model).nms_threshold) == (0.15, 0.6)  # auto: weak boxes for tracks
    assert config(model, count_from="detections").threshold == 0.42
    assert config(model, threshold=0.3).threshold == 0.3  # a key the user set wins
    assert config(model, model_defaults="off").threshold == Settings().threshold


def test_a_calibration_of_other_weights_or_format_is_not_applied(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "count_people.detectors")
    model = calibrated_model(tmp_path, sha256="0" * 64)
    assert config(model).threshold == Settings().threshold
    assert "sha256 differs" in caplog.text
    calibration.load_calibration.cache_clear()
    calibrated_model(tmp_path, format=99)
    assert config(model).threshold == Settings().threshold and "not a format 1 calibration" in caplog.text


def test_every_catalog_onnx_and_darknet_model_ships_a_calibration_and_no_hand_set_threshold():
    for name, entry in CATALOG.items():
        assert "threshold" not in entry and "nms_threshold" not in entry, name
    shipped = {p.name.removesuffix(calibration.SUFFIX) for p in calibration.SHIPPED.glob(f"*{calibration.SUFFIX}")}
    assert {"yolo-fastest-1.1_body.cfg", "yolox_nano_416_coco.onnx", "nanodet_m_416_coco.onnx"} <= shipped
    for path in calibration.SHIPPED.glob(f"*{calibration.SUFFIX}"):
        data = json.loads(path.read_text())
        assert data["held_out"] and data["modes"]["detections"]["threshold"] > 0, path
