"""Detector backends, one module each, behind ``detectors.base.Detector``; ``BACKENDS`` is the registry.

Each backend module imports its runtime (MXNet, ONNX Runtime) only in ``load``, so a missing
optional runtime affects only the users of that backend. Adding a backend: one module with its
config class, and one line in ``BACKENDS``.
"""

from __future__ import annotations

from count_people.config import Settings
from count_people.detectors.base import Detection, Detector, DetectorConfig
from count_people.detectors.gluoncv import GluonCVDetector
from count_people.detectors.onnxruntime import OnnxRuntimeDetector
from count_people.detectors.opencv_dnn import OpenCVDetector
from count_people.errors import UserError

BACKENDS: dict[str, type[Detector]] = {
    "gluoncv": GluonCVDetector,
    "opencv": OpenCVDetector,
    "onnxruntime": OnnxRuntimeDetector,
}

__all__ = ["BACKENDS", "Detection", "Detector", "backend", "create_detector", "detector_config"]


def backend(name: str) -> type[Detector]:
    """The backend class registered as ``name``; UserError listing the choices otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise UserError(f"unknown detector {name!r}; available: {', '.join(BACKENDS)}") from None


def detector_config(settings: Settings) -> DetectorConfig:
    """The typed config of the backend that ``settings.detector`` names."""
    return backend(settings.detector).config_type.from_settings(settings)


def create_detector(settings: Settings) -> Detector:
    """Instantiate (without loading) the backend named by ``settings.detector``."""
    return backend(settings.detector)(detector_config(settings))
