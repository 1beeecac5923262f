"""GluonCV parameters made by the tests themselves (no model zoo download), for the counter tests."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Small enough to keep the suite fast on two cores; same loading path as the default model.
FAST_GLUONCV_MODEL = "ssd_512_mobilenet1.0_voc"


def make_gluoncv_params(model: str, path: Path) -> Path:
    """Random weights saved the way a trained model is (no model zoo download needed)."""
    pytest.importorskip("mxnet", reason="the mxnet extra is not installed")
    from count_people.detectors.gluoncv import save_untrained_params

    return Path(save_untrained_params(model, str(path)))
