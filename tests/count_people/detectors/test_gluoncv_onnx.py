"""The GluonCV SSD's ONNX export (what a Python 3.12+ host runs instead of MXNet): per-class NMS as MXNet's
box_nms, one line without MXNet or export, and agreement with MXNet on real frames (scripts/onnx_agreement.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.gluoncv_onnx import box_nms
from count_people.errors import UserError
from support import REPO_ROOT, shared_path

mx = pytest.importorskip("mxnet", reason="the mxnet extra is not installed")

#: Tolerances asserted on real frames: scores as probabilities, boxes in frame pixels (measured: ~2e-6, ~2e-4).
SCORE_TOLERANCE = 1e-3
BOX_TOLERANCE_PX = 0.5


def test_box_nms_is_mxnets_per_class_box_nms() -> None:
    rng = np.random.default_rng(7)
    rows = 3000
    ids = rng.integers(-1, 20, rows).astype(np.float32)
    scores = rng.random(rows).astype(np.float32) ** 3
    corners = rng.random((rows, 2)).astype(np.float32) * 400
    boxes = np.concatenate([corners, corners + 20 + rng.random((rows, 2)).astype(np.float32) * 80], axis=1)
    data = mx.nd.array(np.concatenate([ids[:, None], scores[:, None], boxes], axis=1)[None])
    expected = mx.nd.contrib.box_nms(data, overlap_thresh=0.45, topk=400, valid_thresh=0.01, id_index=0,
                                     score_index=1, coord_start=2, force_suppress=False)[0, :100].asnumpy()
    expected = expected[expected[:, 0] >= 0]
    got_ids, got_scores, got_boxes = box_nms(ids.astype(int), scores, boxes, 0.45, 400, 100)
    assert len(expected) > 20
    np.testing.assert_array_equal(got_ids, expected[:, 0].astype(int))
    np.testing.assert_allclose(got_scores, expected[:, 1])
    np.testing.assert_allclose(got_boxes, expected[:, 2:])


def test_without_mxnet_and_export_one_line_names_the_fix() -> None:
    detector = create_detector(Settings())
    with pytest.raises(UserError) as error:
        detector.load_export("No module named 'mxnet'")  # type: ignore[attr-defined]
    assert "\n" not in str(error.value)
    assert "or the network's ONNX export (onnx_export, packaged by ggctl build)" in str(error.value)


@pytest.mark.shared
@pytest.mark.timeout(600)
def test_export_agrees_with_mxnet_on_real_frames() -> None:
    shared_path("footage/TUD-Campus/TUD-Campus.mp4")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/onnx_agreement.py"), "--frames", "1", "--json",
         "--score-tolerance", str(SCORE_TOLERANCE), "--box-tolerance", str(BOX_TOLERANCE_PX)],
        capture_output=True, text=True, timeout=600)
    numbers = json.loads(result.stdout)
    assert result.returncode == 0 and numbers["within_tolerance"], numbers
    assert numbers["compared_detections"] >= 100 and numbers["unmatched_detections"] == 0
    assert numbers["max_score_difference"] <= SCORE_TOLERANCE
    assert numbers["max_box_difference_px"] <= BOX_TOLERANCE_PX
