"""Known models and the settings they count best with, applied where the user left a key at its default.

A model is known by its file name (or GluonCV model-zoo name); a user's own file is not in the
catalog and takes its options explicitly. Each entry's values are Settings keys; ``labels`` is a
file name looked up beside the model file; input sizes are the ones the networks were trained at.
Thresholds and NMS are not set here: they come from the model's calibration (``calibration.py``),
measured by ``count-people calibrate --tune`` and reported on held-out footage, for any model
(a user's own file too, once calibrated).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from count_people.config import Settings
from count_people.detectors.calibration import load_calibration

_YOLO_FASTEST_COCO = {"labels": "coco.names"}
_NANODET = {"output_layout": "nanodet", "labels": "coco.names"}

CATALOG: dict[str, Mapping[str, Any]] = {
    # Yolo-Fastest 1.1 (Darknet; the cfg fixes input 320x320, the format fixes the layout).
    "yolo-fastest-1.1_body.cfg": {"labels": "body.names", "class_alias": (("body", "person"),)},
    "yolo-fastest-1.1.cfg": _YOLO_FASTEST_COCO,
    "yolo-fastest-1.1-xl.cfg": _YOLO_FASTEST_COCO,
    # YOLOX-Nano (Megvii, 416x416 in the graph): raw grid output, BGR 0..255, top-left letterbox.
    "yolox_nano_416_coco.onnx": {"output_layout": "yolox", "labels": "coco.names"},
    # NanoDet-m (416x416 in the graph), also published in OpenCV Zoo under the second name.
    "nanodet_m_416_coco.onnx": _NANODET,
    "object_detection_nanodet_2022nov.onnx": _NANODET,
    # GluonCV model zoo: the short side each network was trained at (its transform_test default).
    "ssd_300_vgg16_atrous_voc": {"input_size": 300},
    "ssd_300_vgg16_atrous_coco": {"input_size": 300},
    "yolo3_darknet53_voc": {"input_size": 416},
    "yolo3_darknet53_coco": {"input_size": 416},
    "yolo3_mobilenet1.0_voc": {"input_size": 416},
    "yolo3_mobilenet1.0_coco": {"input_size": 416},
    "faster_rcnn_resnet50_v1b_voc": {"input_size": 600},
    "faster_rcnn_resnet50_v1b_coco": {"input_size": 800},
}

_BUILT_IN = {field.name: field.default for field in dataclasses.fields(Settings)}


def catalog_entry(model: str) -> Mapping[str, Any] | None:
    """The catalog's values for a model file or zoo name, None for an unknown model."""
    return CATALOG.get(Path(model).name.lower())


def calibrated_values(settings: Settings) -> dict[str, Any]:
    """Settings keys from the model's calibration: NMS, and the detector threshold, which is the detections
    mode's threshold when counting from detections, else the floor that weak boxes continuing a track need."""
    calibration = load_calibration(settings.model, settings.params)
    if calibration is None:
        return {}
    values: dict[str, Any] = {}
    if "nms_threshold" in calibration:
        values["nms_threshold"] = calibration["nms_threshold"]
    modes = calibration["modes"]
    if settings.count_from == "detections":
        values["threshold"] = modes["detections"]["threshold"]
    else:
        values["threshold"] = calibration["floor"]
    if "tracks" in modes:  # the tracker of lines and zones starts tracks as the tracks mode does
        values["tracker_high_threshold"] = modes["tracks"]["threshold"]
    return values


def catalog_defaults(settings: Settings) -> dict[str, Any]:
    """The catalog's and the model calibration's values for ``settings.model``, for the keys still at their
    built-in defaults.

    A key set to any other value wins; with ``model_defaults: off`` nothing is applied.
    """
    entry = catalog_entry(settings.model) if settings.model_defaults else None
    calibrated = calibrated_values(settings) if settings.model_defaults else {}
    values: dict[str, Any] = {}
    for key, value in {**(entry or {}), **calibrated}.items():
        if getattr(settings, key) != _BUILT_IN[key]:
            continue
        if key == "labels":
            path = Path(settings.model).parent / value
            if not path.is_file():
                continue  # the labels file was not shipped beside the model: --labels stays required
            value = str(path)
        values[key] = value
    return values
