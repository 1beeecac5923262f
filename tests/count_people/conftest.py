"""Fixtures for the counter: real frames, and GluonCV parameters made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from gluoncv_params import FAST_GLUONCV_MODEL, make_gluoncv_params


@pytest.fixture(scope="session")
def fast_params(tmp_path_factory) -> Path:
    return make_gluoncv_params(FAST_GLUONCV_MODEL, tmp_path_factory.mktemp("gluoncv") / "fast.params")


@pytest.fixture(scope="session")
def frame_bgr() -> np.ndarray:
    """A 640x480 frame with structure (not flat), so JPEG sizes differ between variants."""
    rng = np.random.default_rng(7)
    image = cv2.resize(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (640, 480))
    cv2.rectangle(image, (200, 100), (300, 400), (30, 30, 200), -1)
    return image
