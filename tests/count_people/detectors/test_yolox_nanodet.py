"""The real YOLOX-Nano and NanoDet-m ONNX models through both YOLO backends, against a reference decoding.

The reference below is written from the published formulas, cell by cell (YOLOX: Megvii's
``preproc`` and ``demo_postprocess``; NanoDet: distance bins, softmax, integral, centre
``cell * stride + (stride - 1) / 2``), independently of the vectorised code in ``yolo_layouts``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from count_people.config import Settings
from count_people.detectors import detector_config
from count_people.detectors.calibration import load_calibration
from support import shared_path
from yolo_models import load_yolo

YOLOX = "models/yolox-nano/yolox_nano_416_coco.onnx"
NANODET = "models/nanodet-m/nanodet_m_416_coco.onnx"
SIDE = 416
THRESHOLD = 0.35
NMS = 0.45


def tud_frames(indices: tuple[int, ...] = (0, 40)) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(shared_path("footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")))
    frames, index = [], 0
    while len(frames) < len(indices):
        ok, image = capture.read()
        assert ok
        if index in indices:
            frames.append(image)
        index += 1
    capture.release()
    return frames


def reference_yolox(session, image: np.ndarray) -> list[tuple[float, tuple[float, ...]]]:
    """Megvii's preprocessing (top-left letterbox, pad 114, BGR 0..255) and decoding, row by row."""
    height, width = image.shape[:2]
    ratio = min(SIDE / height, SIDE / width)
    padded = np.full((SIDE, SIDE, 3), 114, np.uint8)
    resized = cv2.resize(image, (int(width * ratio), int(height * ratio)), interpolation=cv2.INTER_LINEAR)
    padded[:resized.shape[0], :resized.shape[1]] = resized
    blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
    rows = session.run(None, {session.get_inputs()[0].name: blob})[0][0]
    found, row = [], 0
    for stride in (8, 16, 32):
        cells = SIDE // stride
        for y in range(cells):
            for x in range(cells):
                dx, dy, log_w, log_h, objectness, *classes = rows[row]
                row += 1
                best = int(np.argmax(classes))
                score = objectness * classes[best]
                if best != 0 or score < THRESHOLD:
                    continue
                cx, cy = (dx + x) * stride, (dy + y) * stride
                w, h = math.exp(log_w) * stride, math.exp(log_h) * stride
                found.append((score, ((cx - w / 2) / ratio, (cy - h / 2) / ratio,
                                      (cx + w / 2) / ratio, (cy + h / 2) / ratio)))
    return nms(found, width, height)


def reference_nanodet(session, image: np.ndarray) -> list[tuple[float, tuple[float, ...]]]:
    """Centred letterbox with black, (BGR - mean) / std, then per cell: softmax over bins, integral x stride."""
    height, width = image.shape[:2]
    ratio = min(SIDE / height, SIDE / width)
    new_w, new_h = int(width * ratio), int(height * ratio)
    left, top = (SIDE - new_w) // 2, (SIDE - new_h) // 2
    padded = np.zeros((SIDE, SIDE, 3), np.float32)
    padded[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h))
    blob = ((padded - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]).transpose(2, 0, 1)[None]
    outputs = session.run(None, {session.get_inputs()[0].name: blob.astype(np.float32)})
    found = []
    for stride in (8, 16, 32):
        cells = SIDE // stride
        scores = next(o[0] for o in outputs if o.shape == (1, cells * cells, 80))
        bins = next(o[0] for o in outputs if o.shape == (1, cells * cells, 32))
        for index in range(cells * cells):
            best = int(np.argmax(scores[index]))
            if best != 0 or scores[index][best] < THRESHOLD:
                continue
            sides = []
            for side in range(4):
                logits = bins[index][side * 8:(side + 1) * 8]
                weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
                sides.append(float((weights * np.arange(8)).sum()) * stride)
            cx = (index % cells) * stride + (stride - 1) / 2
            cy = (index // cells) * stride + (stride - 1) / 2
            box = (cx - sides[0], cy - sides[1], cx + sides[2], cy + sides[3])
            found.append((float(scores[index][best]), ((box[0] - left) / ratio, (box[1] - top) / ratio,
                                                       (box[2] - left) / ratio, (box[3] - top) / ratio)))
    return nms(found, width, height)


def nms(found, width: int, height: int) -> list[tuple[float, tuple[float, ...]]]:
    clipped = [(s, tuple(np.clip(b, 0, [width, height, width, height]).tolist())) for s, b in found]
    xywh = [[b[0], b[1], b[2] - b[0], b[3] - b[1]] for _, b in clipped]
    keep = cv2.dnn.NMSBoxes(xywh, [s for s, _ in clipped], 0.0, NMS)
    return sorted((clipped[i] for i in np.asarray(keep).reshape(-1)), key=lambda item: -item[0])


CASES = {"yolox": (YOLOX, reference_yolox), "nanodet": (NANODET, reference_nanodet)}


@pytest.mark.shared
@pytest.mark.parametrize("backend", ["opencv", "onnxruntime"])
@pytest.mark.parametrize("family", ["yolox", "nanodet"])
def test_boxes_agree_with_the_reference_decoding(family, backend):
    ort = pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    relative, reference = CASES[family]
    model = shared_path(relative)
    detector = load_yolo(detector=backend, model=model, threshold=THRESHOLD, nms_threshold=NMS)
    assert detector.layout == family and detector.input_size == (SIDE, SIDE)  # detected from the outputs
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    for image in tud_frames():
        expected = reference(session, image)
        got = sorted(((d.score, d.box) for d in detector.detect(image)), key=lambda item: -item[0])
        assert len(expected) >= 3  # people are walking through every frame
        assert len(got) == len(expected)
        np.testing.assert_allclose([s for s, _ in got], [s for s, _ in expected], atol=2e-3)
        np.testing.assert_allclose([b for _, b in got], [b for _, b in expected], atol=1.0)


@pytest.mark.shared
def test_catalog_defaults_apply_to_a_known_model_left_at_defaults():
    model = shared_path(YOLOX)
    detector = load_yolo(detector="onnxruntime", model=model)  # no labels, threshold or layout given
    calibrated = load_calibration(str(model))
    assert detector.config.threshold == calibrated["floor"]  # count_from auto: weak boxes continue tracks
    assert detector.config.nms_threshold == calibrated["nms_threshold"]
    from_detections = detector_config(Settings().updated({"detector": "onnxruntime", "model": str(model),
                                                          "count_from": "detections"}))
    assert from_detections.threshold == calibrated["modes"]["detections"]["threshold"]
    assert detector.config.labels == str(model.parent / "coco.names")
    assert detector.layout == "yolox" and "person" in detector.class_names

    explicit = detector_config(Settings().updated({"detector": "onnxruntime", "model": str(model),
                                                   "threshold": "0.6", "nms_threshold": "0.3"}))
    assert (explicit.threshold, explicit.nms_threshold) == (0.6, 0.3)  # the user's values win
    off = detector_config(Settings().updated({"detector": "onnxruntime", "model": str(model),
                                              "model_defaults": "off"}))
    assert (off.threshold, off.labels) == (Settings().threshold, None)


@pytest.mark.shared
def test_catalog_gives_the_body_model_its_alias_and_calibrated_thresholds():
    folder = shared_path("models/yolo-fastest")
    detector = load_yolo(detector="opencv", model=folder / "yolo-fastest-1.1_body.cfg",
                         params=folder / "yolo-fastest-1.1_body.weights")
    assert detector.class_names == ("person",)
    calibrated = load_calibration(*(str(folder / f"yolo-fastest-1.1_body.{ext}") for ext in ("cfg", "weights")))
    assert (detector.config.threshold, detector.config.nms_threshold) == (calibrated["floor"],
                                                                          calibrated["nms_threshold"])


def test_a_model_outside_the_catalog_gets_no_defaults(tmp_path):
    config = detector_config(Settings().updated({"detector": "opencv", "model": str(tmp_path / "mine.onnx")}))
    assert (config.threshold, config.nms_threshold, config.labels) == (0.5, 0.45, None)
