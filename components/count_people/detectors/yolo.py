"""YOLO pre- and post-processing, shared by every backend that runs YOLO-family models.

A backend (OpenCV DNN, ONNX Runtime) only opens the model and runs the network; fitting
the frame into the network input, decoding the output layout (``yolo_layouts``: Darknet,
YOLOv5, YOLOv8, YOLOX, NanoDet), thresholds, per-class NMS and mapping boxes back to frame
pixels live here once, so every backend counts alike.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from count_people.detectors.base import Detection, StagedDetector
from count_people.detectors.int8 import QuantizableConfig
from count_people.detectors.yolo_layouts import PREPROCESSING, Preprocessing, candidates, check_layout, guess_layout
from count_people.errors import UserError

log = logging.getLogger("count_people.detectors.yolo")



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
            letterbox: bool, corner: bool = False) -> Geometry:
        if not letterbox:
            return cls(frame_width, frame_height, input_width / frame_width, input_height / frame_height)
        # Same integer arithmetic as OpenCV's DNN_PMODE_LETTERBOX, which makes the centred blob.
        factor = min(input_width / frame_width, input_height / frame_height)
        width, height = int(frame_width * factor), int(frame_height * factor)
        pad_x, pad_y = (0, 0) if corner else ((input_width - width) // 2, (input_height - height) // 2)
        return cls(frame_width, frame_height, width / frame_width, height / frame_height, pad_x, pad_y)

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Centre-size boxes in input pixels -> (x0, y0, x1, y1) in frame pixels, clipped to the frame."""
        cx = (boxes[:, 0] - self.pad_x) / self.scale_x
        cy = (boxes[:, 1] - self.pad_y) / self.scale_y
        half_w = boxes[:, 2] / (2 * self.scale_x)
        half_h = boxes[:, 3] / (2 * self.scale_y)
        corners = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        limit = np.array([self.frame_width, self.frame_height] * 2, dtype=corners.dtype)
        return np.clip(corners, 0, limit)


def make_blob(image: np.ndarray, input_size: tuple[int, int], letterbox: bool,
              preprocessing: Preprocessing = PREPROCESSING["yolov5"]) -> tuple[np.ndarray, Geometry]:
    """BGR uint8 frame -> float32 NCHW blob as the family expects it, in one OpenCV pass where possible."""
    height, width = image.shape[:2]
    geometry = Geometry.fit(width, height, *input_size, letterbox, preprocessing.corner)
    params = cv2.dnn.Image2BlobParams()
    params.scalefactor = preprocessing.scale
    params.mean = preprocessing.mean
    params.size = input_size
    params.swapRB = preprocessing.rgb
    params.ddepth = cv2.CV_32F
    if letterbox and preprocessing.corner:  # OpenCV only centres: place the resized frame by hand
        size = (round(width * geometry.scale_x), round(height * geometry.scale_y))
        canvas = np.full((input_size[1], input_size[0], 3), preprocessing.pad, np.uint8)
        canvas[:size[1], :size[0]] = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        image = canvas
    elif letterbox:
        params.paddingmode = cv2.dnn.DNN_PMODE_LETTERBOX
        params.borderValue = (preprocessing.pad,) * 3
    return cv2.dnn.blobFromImageWithParams(image, params), geometry


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
class YoloConfig(QuantizableConfig):
    """A YOLO model file, its weights and labels, how frames fit its input, and per-class NMS."""

    params: str | None
    labels: str | None
    class_alias: tuple[tuple[str, str], ...]
    input_size: int
    context: str
    threads: int
    output_layout: str
    resize_mode: str
    nms_threshold: float
    # Only read when an INT8 model is first made (then cached): a change reloads nothing (Part.LIVE).
    model_cache: str
    calibration_source: str
    calibration_frames: int
    source: str


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

    def use_int8(self) -> None:
        """Switch the loaded network to INT8 (``precision: int8``); backends that can, override this."""
        raise UserError(f"this backend runs {self.name} in fp32 only; for precision int8 use --detector "
                        "onnxruntime (ONNX models) or gluoncv, or set --precision fp32")

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
        shapes = [out.shape for out in outputs]
        wanted = self.config.output_layout
        if layout is not None and wanted not in ("auto", layout):
            raise UserError(f"model {self.name} has the {layout} layout; set --output-layout auto or {layout}")
        if layout is None and wanted == "auto":
            layout = guess_layout(shapes, len(names), self.input_size)
        else:
            layout = layout or wanted
            check_layout(layout, shapes, len(names), self.input_size)
        self.layout = layout
        self._labels = tuple(aliases.get(name, name) for name in names)
        if self.config.precision == "int8":
            self.use_int8()
        log.info("%s: %s layout, input %dx%d, %d classes, %s", self.name, layout, *self.input_size, len(names),
                 self.precision)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        mode = self.config.resize_mode
        preprocessing = PREPROCESSING[self.layout]
        letterbox = mode == "letterbox" or (mode == "auto" and preprocessing.letterbox)
        return make_blob(image, self.input_size, letterbox, preprocessing)

    def postprocess(self, outputs: Sequence[np.ndarray], context: Geometry) -> list[Detection]:
        config = self.config
        boxes, scores, class_ids = candidates(outputs, self.layout, self.input_size, config.threshold,
                                              len(self._labels))
        wanted = [i for i, label in enumerate(self._labels) if label in config.classes]
        counted = np.isin(class_ids, wanted)
        boxes, scores, class_ids = context.to_frame(boxes[counted]), scores[counted], class_ids[counted]
        # NMS in frame pixels: a stretched input distorts IoU.
        keep = select(boxes, scores, class_ids, config.nms_threshold)
        return [
            Detection(self._labels[class_ids[i]], float(scores[i]), tuple(boxes[i].tolist()))
            for i in keep
        ]
