"""Detector backends, one module each, behind ``detectors.base.Detector``.

Backends are imported only when chosen, so a missing optional runtime (MXNet, ONNX
Runtime) affects only the users of that backend. Adding a backend: one module and one
line in ``BACKENDS``.
"""

from __future__ import annotations

import importlib

from count_people.config import Settings
from count_people.detectors.base import Detection, Detector
from count_people.errors import UserError

BACKENDS: dict[str, str] = {
    "gluoncv": "count_people.detectors.gluoncv:GluonCVDetector",
    "opencv": "count_people.detectors.opencv_dnn:OpenCVDetector",
    "onnxruntime": "count_people.detectors.onnxruntime:OnnxRuntimeDetector",
}

__all__ = ["BACKENDS", "Detection", "Detector", "create_detector"]


def create_detector(settings: Settings) -> Detector:
    """Instantiate (without loading) the backend named by ``settings.detector``."""
    try:
        target = BACKENDS[settings.detector]
    except KeyError:
        raise UserError(
            f"unknown detector {settings.detector!r}; available: {', '.join(BACKENDS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)(settings)
