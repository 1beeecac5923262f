"""Helpers for the counter tests: real frames, and GluonCV parameters made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Small enough to keep the suite fast on two cores; same loading path as the default model.
FAST_GLUONCV_MODEL = "ssd_512_mobilenet1.0_voc"


def make_gluoncv_params(model: str, path: Path) -> Path:
    """Random weights saved the way a trained model is (no model zoo download needed)."""
    mx = pytest.importorskip("mxnet", reason="the mxnet extra is not installed")
    from gluoncv import model_zoo

    net = model_zoo.get_model(model, pretrained=False, pretrained_base=False)
    net.initialize()
    net(mx.nd.zeros((1, 3, 512, 512)))
    net.save_parameters(str(path))
    return path
