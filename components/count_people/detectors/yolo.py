"""YOLO pre- and post-processing, shared by every backend that runs YOLO-family models.

A backend (OpenCV DNN, ONNX Runtime) only opens the model and runs the network; fitting
the frame into the network input, decoding the output layout, thresholds, per-class NMS
and mapping boxes back to frame pixels live here once, so every backend counts alike.

Output layouts (C = number of classes, boxes as centre x, centre y, width, height):

- ``darknet``: OpenCV's Darknet ``[yolo]`` layers, rows of ``4 + 1 + C``, box relative to the
  input (0..1), class scores already multiplied by objectness.
- ``yolov5``: ONNX ``(1, N, 5 + C)``, box in input pixels, objectness then class probabilities.
- ``yolov8``: ONNX ``(1, 4 + C, N)``, box in input pixels, class scores, no objectness.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from count_people.detectors.base import LIVE, Detection, DetectorConfig, StagedDetector
from count_people.errors import UserError

log = logging.getLogger("count_people.detectors.yolo")

LAYOUTS = ("darknet", "yolov5", "yolov8")
#: YOLOv5/v8 were trained on letterboxed inputs, Darknet YOLO on stretched ones.
LETTERBOX_LAYOUTS = frozenset({"yolov5", "yolov8"})
LETTERBOX_GREY = 114.0


@dataclass(frozen=True)
class Geometry:
    """Where a frame landed in the network input: input = frame * scale + pad."""

    frame_width: int
    frame_height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    @classmethod
    def fit(cls, frame_width: int, frame_height: int, input_width: int, input_height: int,
            letterbox: bool) -> Geometry:
        if not letterbox:
            return cls(frame_width, frame_height, input_width / frame_width, input_height / frame_height)
        # Same integer arithmetic as OpenCV's DNN_PMODE_LETTERBOX, which makes the blob.
        factor = min(input_width / frame_width, input_height / frame_height)
        width, height = int(frame_width * factor), int(frame_height * factor)
        return cls(frame_width, frame_height, width / frame_width, height / frame_height,
                   (input_width - width) // 2, (input_height - height) // 2)

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Centre-size boxes in input pixels -> (x0, y0, x1, y1) in frame pixels, clipped to the frame."""
        cx = (boxes[:, 0] - self.pad_x) / self.scale_x
        cy = (boxes[:, 1] - self.pad_y) / self.scale_y
        half_w = boxes[:, 2] / (2 * self.scale_x)
        half_h = boxes[:, 3] / (2 * self.scale_y)
        corners = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        limit = np.array([self.frame_width, self.frame_height] * 2, dtype=corners.dtype)
        return np.clip(corners, 0, limit)


def make_blob(image: np.ndarray, input_size: tuple[int, int], letterbox: bool) -> tuple[np.ndarray, Geometry]:
    """BGR uint8 frame -> float32 NCHW RGB blob in 0..1, in one OpenCV pass (resize, scale, swap)."""
    height, width = image.shape[:2]
    if letterbox:
        params = cv2.dnn.Image2BlobParams()
        params.scalefactor = (1 / 255.0,) * 3
        params.size = input_size
        params.swapRB = True
        params.ddepth = cv2.CV_32F
        params.paddingmode = cv2.dnn.DNN_PMODE_LETTERBOX
        params.borderValue = (LETTERBOX_GREY,) * 3
        blob = cv2.dnn.blobFromImageWithParams(image, params)
    else:
        blob = cv2.dnn.blobFromImage(image, 1 / 255.0, input_size, swapRB=True, crop=False)
    return blob, Geometry.fit(width, height, *input_size, letterbox)


def guess_layout(shapes: Sequence[tuple[int, ...]], num_classes: int) -> str:
    """Which ONNX layout a model's first output has, given the labels' class count."""
    shape = tuple(shapes[0])
    if len(shape) == 3 and shape[0] == 1:
        if shape[2] == 5 + num_classes:
            return "yolov5"
        if shape[1] == 4 + num_classes:
            return "yolov8"
    raise UserError(
        f"model output shape {shape} does not fit {num_classes} class(es) from the labels file: expected "
        f"(1, N, {5 + num_classes}) (YOLOv5 layout) or (1, {4 + num_classes}, N) (YOLOv8 layout); "
        "check that --labels belongs to --model"
    )


def candidates(outputs: Sequence[np.ndarray], layout: str, input_size: tuple[int, int],
               threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes as centre-size in input pixels, best-class scores, class ids) of rows scoring >= threshold.

    Rows are cut by objectness (or best score) before any per-class arithmetic, so a
    25200-row YOLOv5 output costs little when few objects are present.
    """
    if layout == "yolov8":
        out = outputs[0].reshape(outputs[0].shape[-2:])  # (4 + C, N): a view, not a transposed copy
        class_scores = out[4:]
        best = class_scores.max(axis=0)
        keep = np.flatnonzero(best >= threshold)
        return out[:4, keep].T, best[keep], class_scores[:, keep].argmax(axis=0)
    if len(outputs) == 1:
        rows = outputs[0].reshape(-1, outputs[0].shape[-1])
    else:
        rows = np.concatenate([out.reshape(-1, out.shape[-1]) for out in outputs])
    rows = rows[rows[:, 4] >= threshold]  # score <= objectness in both layouts
    class_scores = rows[:, 5:] if layout == "darknet" else rows[:, 5:] * rows[:, 4:5]
    class_ids = class_scores.argmax(axis=1)
    best = class_scores[np.arange(len(rows)), class_ids]
    keep = best >= threshold
    boxes = rows[keep, :4]
    if layout == "darknet":
        boxes = boxes * np.array([*input_size, *input_size], dtype=boxes.dtype)
    return boxes, best[keep], class_ids[keep]


def select(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by per-class non-maximum suppression of (x0, y0, x1, y1) boxes."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=int)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    # score_threshold 0: the caller already applied the confidence threshold.
    kept = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), class_ids.tolist(), 0.0, iou_threshold)
    return np.asarray(kept, dtype=int).reshape(-1)


def read_labels(path: str | None) -> list[str]:
    if path is None:
        raise UserError("YOLO models need a labels file: --labels FILE with one class name per line")
    try:
        names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read labels file {path!r}: {exc}") from None
    while names and not names[-1]:
        names.pop()
    if not names:
        raise UserError(f"labels file {path!r} is empty; it needs one class name per line")
    return names


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The most telling single line of a runtime's multi-line error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # OpenCV puts the reason after "error: (-code:Kind)" on the last lines.
    text = next((line for line in reversed(lines) if "error:" in line), lines[-1] if lines else type(exc).__name__)
    return text[:limit]


@dataclass(frozen=True)
class YoloConfig(DetectorConfig):
    """A YOLO model file, its weights and labels, how frames fit its input, and per-class NMS."""

    params: str | None
    labels: str | None
    class_alias: tuple[tuple[str, str], ...]
    input_size: int
    context: str
    threads: int
    resize_mode: str = field(metadata=LIVE)
    nms_threshold: float = field(metadata=LIVE)


class YoloDetector(StagedDetector):
    """Everything of a YOLO detector except opening the model and running it (the backend's part)."""

    config_type = YoloConfig
    config: YoloConfig

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        self.layout = ""
        self.input_size = (0, 0)  # width, height
        self._labels: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return Path(self.config.model).name

    @property
    def class_names(self) -> Sequence[str]:
        return self._labels

    @abstractmethod
    def open_model(self) -> tuple[str | None, tuple[int, int] | None]:
        """Load the model; return its layout if the format fixes it (else None) and its input
        (width, height) if the model fixes it (else None)."""

    @abstractmethod
    def forward(self, inputs: np.ndarray) -> Sequence[np.ndarray]:
        """Run the network on an NCHW blob."""

    def load(self) -> None:
        model = self.config.model
        if not Path(model).is_file():
            raise UserError(f"model file {model!r} does not exist")
        names = read_labels(self.config.labels)
        aliases = dict(self.config.class_alias)
        unknown = sorted(set(aliases) - set(names))
        if unknown:
            raise UserError(f"class_alias names {', '.join(unknown)}, which {self.config.labels} lacks; "
                            f"its classes: {', '.join(names)}")
        layout, size = self.open_model()
        side = self.config.input_size // 32 * 32 or 32
        self.input_size = size or (side, side)
        outputs = self.forward(np.zeros((1, 3, self.input_size[1], self.input_size[0]), np.float32))
        if layout is None:
            layout = guess_layout([out.shape for out in outputs], len(names))
        elif any(out.shape[-1] != 5 + len(names) for out in outputs):
            raise UserError(
                f"model {self.name} outputs {outputs[0].shape[-1] - 5} class(es) but labels file "
                f"{self.config.labels} has {len(names)}; check that --labels belongs to --model"
            )
        self.layout = layout
        self._labels = tuple(aliases.get(name, name) for name in names)
        log.info("%s: %s layout, input %dx%d, %d classes", self.name, layout, *self.input_size, len(names))

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        mode = self.config.resize_mode
        letterbox = mode == "letterbox" or (mode == "auto" and self.layout in LETTERBOX_LAYOUTS)
        return make_blob(image, self.input_size, letterbox)

    def postprocess(self, outputs: Sequence[np.ndarray], context: Geometry) -> list[Detection]:
        config = self.config
        boxes, scores, class_ids = candidates(outputs, self.layout, self.input_size, config.threshold)
        wanted = [i for i, label in enumerate(self._labels) if label in config.classes]
        counted = np.isin(class_ids, wanted)
        boxes, scores, class_ids = context.to_frame(boxes[counted]), scores[counted], class_ids[counted]
        # NMS in frame pixels: a stretched input distorts IoU.
        keep = select(boxes, scores, class_ids, config.nms_threshold)
        return [
            Detection(self._labels[class_ids[i]], float(scores[i]), tuple(boxes[i].tolist()))
            for i in keep
        ]
