"""Output layouts of YOLO-family networks: how each family wants its input, how its outputs decode.

C = number of classes; decoded boxes are centre x, centre y, width, height in input pixels.

- ``darknet``: OpenCV's Darknet ``[yolo]`` layers, rows of ``4 + 1 + C``, box relative to the
  input (0..1), class scores already multiplied by objectness.
- ``yolov5``: ONNX ``(1, N, 5 + C)``, N = 3 anchors per cell, box in input pixels, objectness then
  class probabilities.
- ``yolov8``: ONNX ``(1, 4 + C, N)``, box in input pixels, class scores, no objectness.
- ``yolox``: ONNX ``(1, N, 5 + C)``, N = one row per grid cell of strides 8, 16, 32 (anchor-free),
  raw ``dx, dy, log w, log h`` then sigmoided objectness and classes: ``xy = (d + cell) * stride``,
  ``wh = exp(.) * stride``, score = objectness * class (YOLOX paper, Ge et al. 2021; Megvii's
  ``demo_postprocess``).
- ``nanodet``: ONNX, per stride one class tensor ``(1, n, C)`` (sigmoided) and one box tensor
  ``(1, n, 4 * (R + 1))`` of distance bins (generalised focal loss): softmax over each side's bins,
  expectation times stride = distance of the left, top, right, bottom side from the cell centre
  ``cell * stride + (stride - 1) / 2`` (NanoDet; OpenCV Zoo's NanoDet demo).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from count_people.errors import UserError

LAYOUTS = ("darknet", "yolov5", "yolov8", "yolox", "nanodet")
#: Strides of the anchor-free heads (YOLOX; NanoDet-m; NanoDet-Plus adds 64).
STRIDES = (8, 16, 32, 64)
LETTERBOX_GREY = 114.0


@dataclass(frozen=True)
class Preprocessing:
    """How a family was fed in training: input = (pixel - mean) * scale, in RGB or BGR order.

    ``letterbox`` keeps the aspect ratio (``corner``: image at the top-left, else centred) with
    the border at ``pad`` (pixel value); otherwise the frame is stretched to the input.
    """

    letterbox: bool = False
    corner: bool = False
    pad: float = LETTERBOX_GREY
    rgb: bool = True
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1 / 255.0,) * 3


PREPROCESSING = {
    "darknet": Preprocessing(),  # trained on stretched inputs
    "yolov5": Preprocessing(letterbox=True),
    "yolov8": Preprocessing(letterbox=True),
    "yolox": Preprocessing(letterbox=True, corner=True, rgb=False, scale=(1.0, 1.0, 1.0)),
    "nanodet": Preprocessing(letterbox=True, pad=0.0, rgb=False, mean=(103.53, 116.28, 123.675),
                             scale=(1 / 57.375, 1 / 57.12, 1 / 58.395)),
}


def grid_cells(width: int, height: int, stride: int) -> int:
    """Cells of a stride's feature map (convolutions round up)."""
    return -(-width // stride) * -(-height // stride)


@functools.lru_cache(maxsize=8)
def grid(width: int, height: int, strides: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) cell column/row and (N,) stride of every row of an anchor-free head, level by level, row-major."""
    cells, steps = [], []
    for stride in strides:
        columns, rows = -(-width // stride), -(-height // stride)
        ys, xs = np.mgrid[0:rows, 0:columns]
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        steps.append(np.full(rows * columns, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(steps).astype(np.float32)


def nanodet_levels(shapes: Sequence[tuple[int, ...]], num_classes: int,
                   input_size: tuple[int, int]) -> list[tuple[int, int, int]] | None:
    """(class output index, box output index, stride) per level, matched by shape; None if not NanoDet."""
    if len(shapes) < 2 or len(shapes) % 2 or any(len(s) != 3 or s[0] != 1 for s in shapes):
        return None
    by_rows: dict[int, dict[int, int]] = {}
    for index, (_, rows, width) in enumerate(shapes):
        by_rows.setdefault(rows, {})[width] = index
    levels = []
    for rows, outputs in by_rows.items():
        stride = next((s for s in STRIDES if grid_cells(*input_size, s) == rows), None)
        boxes = [width for width in outputs if width != num_classes and width % 4 == 0]
        if stride is None or len(outputs) != 2 or num_classes not in outputs or len(boxes) != 1:
            return None
        levels.append((outputs[num_classes], outputs[boxes[0]], stride))
    return sorted(levels, key=lambda level: level[2])


def guess_layout(shapes: Sequence[tuple[int, ...]], num_classes: int, input_size: tuple[int, int]) -> str:
    """Which ONNX layout a model's outputs have, given the labels' class count and the input (width, height)."""
    shape = tuple(shapes[0])
    if len(shapes) == 1 and len(shape) == 3 and shape[0] == 1:
        anchor_free = sum(grid_cells(*input_size, s) for s in STRIDES[:3])
        if shape[2] == 5 + num_classes:
            return "yolox" if shape[1] == anchor_free else "yolov5"
        if shape[1] == 4 + num_classes:
            return "yolov8"
    if nanodet_levels(shapes, num_classes, input_size) is not None:
        return "nanodet"
    raise UserError(
        f"model output shape(s) {', '.join(str(tuple(s)) for s in shapes)} do not fit {num_classes} class(es) "
        f"from the labels file: expected (1, N, {5 + num_classes}) (YOLOv5/YOLOX), (1, {4 + num_classes}, N) "
        f"(YOLOv8), or NanoDet's (1, n, {num_classes}) + (1, n, 4 x bins) per stride; "
        "check that --labels belongs to --model"
    )


def check_layout(layout: str, shapes: Sequence[tuple[int, ...]], num_classes: int,
                 input_size: tuple[int, int]) -> None:
    """Fail in one line when a configured layout cannot decode these outputs."""
    if layout == "nanodet":
        fits = nanodet_levels(shapes, num_classes, input_size) is not None
    elif layout == "yolov8":
        fits = all(len(s) == 3 and s[1] == 4 + num_classes for s in shapes)
    else:
        widths = {s[-1] for s in shapes}
        if len(widths) == 1 and widths != {5 + num_classes}:
            raise UserError(f"the model outputs {widths.pop() - 5} class(es) but the labels file has {num_classes}; "
                            "check that --labels belongs to --model")
        fits = True
        if layout == "yolox":
            fits = fits and len(shapes) == 1 and shapes[0][1] == sum(grid_cells(*input_size, s) for s in STRIDES[:3])
    if not fits:
        raise UserError(
            f"the {layout} layout does not fit the model's output shape(s) "
            f"{', '.join(str(tuple(s)) for s in shapes)} with {num_classes} class(es) from the labels file; "
            "check --output-layout (auto detects it) and that --labels belongs to --model"
        )


Candidates = tuple[np.ndarray, np.ndarray, np.ndarray]


def candidates(outputs: Sequence[np.ndarray], layout: str, input_size: tuple[int, int],
               threshold: float, num_classes: int = 0) -> Candidates:
    """(boxes as centre-size in input pixels, best-class scores, class ids) of rows scoring >= threshold.

    Rows are cut by objectness (or best score) before any per-class arithmetic or box decoding,
    so a large output costs little when few objects are present.
    """
    if layout == "yolov8":
        out = outputs[0].reshape(outputs[0].shape[-2:])  # (4 + C, N): a view, not a transposed copy
        class_scores = out[4:]
        best = class_scores.max(axis=0)
        keep = np.flatnonzero(best >= threshold)
        return out[:4, keep].T, best[keep], class_scores[:, keep].argmax(axis=0)
    if layout == "nanodet":
        return _nanodet(outputs, input_size, threshold, num_classes)
    rows = np.concatenate([out.reshape(-1, out.shape[-1]) for out in outputs])
    keep = np.flatnonzero(rows[:, 4] >= threshold)  # score <= objectness in every row layout
    rows = rows[keep]
    class_scores = rows[:, 5:] if layout == "darknet" else rows[:, 5:] * rows[:, 4:5]
    class_ids = class_scores.argmax(axis=1)
    best = class_scores[np.arange(len(rows)), class_ids]
    wanted = best >= threshold
    boxes = rows[wanted, :4]
    if layout == "darknet":
        boxes = boxes * np.array([*input_size, *input_size], dtype=boxes.dtype)
    elif layout == "yolox":
        cells, strides = grid(*input_size, STRIDES[:3])
        index, step = keep[wanted], strides[keep[wanted], None]
        boxes = np.concatenate([(boxes[:, :2] + cells[index]) * step, np.exp(boxes[:, 2:]) * step], axis=1)
    return boxes, best[wanted], class_ids[wanted]


def _nanodet(outputs: Sequence[np.ndarray], input_size: tuple[int, int], threshold: float,
             num_classes: int) -> Candidates:
    levels = nanodet_levels([out.shape for out in outputs], num_classes, input_size) or []
    found: list[Candidates] = []
    for class_index, box_index, stride in levels:
        scores = outputs[class_index].reshape(-1, num_classes)
        best = scores.max(axis=1)
        keep = np.flatnonzero(best >= threshold)
        bins = outputs[box_index].reshape(len(scores), 4, -1)[keep]
        weights = np.exp(bins - bins.max(axis=2, keepdims=True))
        distances = (weights @ np.arange(bins.shape[2], dtype=np.float32)) / weights.sum(axis=2) * stride
        cells, _ = grid(*input_size, (stride,))
        centres = cells[keep] * stride + (stride - 1) / 2
        top_left, bottom_right = centres - distances[:, :2], centres + distances[:, 2:]
        boxes = np.concatenate([(top_left + bottom_right) / 2, bottom_right - top_left], axis=1)
        found.append((boxes.astype(np.float32), best[keep], scores[keep].argmax(axis=1)))
    if not found:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
    return tuple(np.concatenate(parts) for parts in zip(*found))  # type: ignore[return-value]
