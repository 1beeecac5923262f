"""Count error and precision/recall at IoU 0.5, and MOTChallenge ground truth loading."""

from __future__ import annotations

import numpy as np
import pytest
from count_people.errors import UserError
from count_people.evaluation.accuracy import CountAccuracy, count_matches
from count_people.evaluation.ground_truth import image_size, load_ground_truth, scale_to_frame
from count_people.geometry import iou_matrix


def test_iou_of_known_boxes():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0, 0.0]])


def test_matching_is_one_to_one_and_best_first():
    truth = np.array([[0, 0, 10, 10], [4, 0, 14, 10]])
    # One prediction overlaps both truths; the better match wins, the other truth stays unmatched.
    assert count_matches(np.array([[1, 0, 11, 10]]), truth) == 1
    assert count_matches(np.array([[0, 0, 10, 10], [4, 0, 14, 10]]), truth) == 2
    assert count_matches(np.array([[0, 0, 10, 10]]), truth, iou_threshold=1.0) == 1
    assert count_matches(np.zeros((0, 4)), truth) == 0


def test_accuracy_summary():
    accuracy = CountAccuracy()
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    accuracy.add(np.array([[0, 0, 10, 10]]), truth)  # error -1, 1 match
    accuracy.add(np.array([[0, 0, 10, 10], [20, 0, 30, 10], [50, 50, 60, 60]]), truth)  # +1, 2 matches
    accuracy.add(np.zeros((0, 4)), np.zeros((0, 4)))  # 0
    result = accuracy.result()
    assert result["frames"] == 3
    assert result["mae"] == pytest.approx(2 / 3)
    assert result["rmse"] == pytest.approx(np.sqrt(2 / 3))
    assert result["mean_true"] == pytest.approx(4 / 3) and result["mean_predicted"] == pytest.approx(4 / 3)
    assert result["precision"] == pytest.approx(3 / 4) and result["recall"] == pytest.approx(3 / 4)


def test_ground_truth_rows_seqinfo_and_scaling(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,20,30,40,1,-1,-1,-1\n1,2,0,0,5,5,0,-1,-1,-1\n3,1,100,100,10,10,1,-1,-1,-1\n")
    truth = load_ground_truth(gt)
    assert sorted(truth) == [1, 3]  # conf 0 row ignored; frame 2 has nobody
    np.testing.assert_allclose(truth[1], [[10, 20, 40, 60]])
    seqinfo = tmp_path / "seqinfo.ini"
    seqinfo.write_text("[Sequence]\nname=x\nimWidth=1280\nimHeight=960\n")
    assert image_size(seqinfo) == (1280, 960)
    assert image_size(tmp_path / "missing.ini") is None
    np.testing.assert_allclose(scale_to_frame(truth, (1280, 960), (640, 480))[1], [[5, 10, 20, 30]])
    assert scale_to_frame(truth, None, (640, 480)) is truth
    gt.write_text("1,1,ten,20,30,40,1\n")
    with pytest.raises(UserError, match=r"gt.txt:1: expected frame,id"):
        load_ground_truth(gt)
