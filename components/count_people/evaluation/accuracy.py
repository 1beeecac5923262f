"""Per-frame count error and detection precision/recall at an IoU threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from count_people.geometry import count_matches


@dataclass
class CountAccuracy:
    """Accumulates frames; ``result`` gives the summary that ``count-people evaluate`` prints."""

    iou_threshold: float = 0.5
    frames: int = 0
    abs_error: float = 0.0
    sq_error: float = 0.0
    true_total: int = 0
    predicted_total: int = 0
    boxes_total: int = 0
    matched: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray, count: int | None = None) -> None:
        """One frame: its predicted boxes, the true ones, and the published count when it is not the boxes'
        number (a count smoothed over time)."""
        count = len(predicted) if count is None else count
        error = count - len(truth)
        self.frames += 1
        self.abs_error += abs(error)
        self.sq_error += error * error
        self.true_total += len(truth)
        self.predicted_total += count
        self.boxes_total += len(predicted)
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
            "precision": self.matched / self.boxes_total if self.boxes_total else 0.0,
            "recall": self.matched / self.true_total if self.true_total else 0.0,
        }
