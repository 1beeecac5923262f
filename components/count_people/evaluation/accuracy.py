"""Per-frame count error and detection precision/recall at an IoU threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from count_people.geometry import iou_matrix


def count_matches(predicted: np.ndarray, truth: np.ndarray, iou_threshold: float = 0.5) -> int:
    """True positives of a greedy one-to-one matching, highest IoU first (as the PASCAL VOC/COCO tools)."""
    ious = iou_matrix(predicted, truth)
    pairs = np.argwhere(ious >= iou_threshold)
    if len(pairs) == 0:
        return 0
    order = np.argsort(-ious[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_pred, used_true = set(), set()
    for p, t in pairs[order]:
        if p not in used_pred and t not in used_true:
            used_pred.add(p)
            used_true.add(t)
    return len(used_pred)


@dataclass
class CountAccuracy:
    """Accumulates frames; ``result`` gives the summary that ``count-people evaluate`` prints."""

    iou_threshold: float = 0.5
    frames: int = 0
    abs_error: float = 0.0
    sq_error: float = 0.0
    true_total: int = 0
    predicted_total: int = 0
    matched: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        error = len(predicted) - len(truth)
        self.frames += 1
        self.abs_error += abs(error)
        self.sq_error += error * error
        self.true_total += len(truth)
        self.predicted_total += len(predicted)
        self.matched += count_matches(predicted, truth, self.iou_threshold)

    def result(self) -> dict[str, float | int]:
        """Count MAE/RMSE and means per frame; precision/recall over all boxes (0 when undefined)."""
        frames = max(self.frames, 1)
        return {
            "frames": self.frames,
            "mae": self.abs_error / frames,
            "rmse": math.sqrt(self.sq_error / frames),
            "mean_true": self.true_total / frames,
            "mean_predicted": self.predicted_total / frames,
            "precision": self.matched / self.predicted_total if self.predicted_total else 0.0,
            "recall": self.matched / self.true_total if self.true_total else 0.0,
        }
