"""Tiny ONNX graphs with the YOLOv5 and YOLOv8 output layouts, whose detections are known.

The output is a constant table of predictions plus one "red" entry: the mean of the
network input's first channel (R after BGR->RGB, in 0..1 after scaling) times a mask,
so the tests also see whether a backend feeds RGB scaled to 0..1, and letterbox grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the dev extra (onnx) is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

LABELS = ("person", "car")
INPUT = 128  # square network input; the frames are 640x480


def yolov5_rows(rows: list[tuple[float, ...]]) -> np.ndarray:
    """(1, N, 5 + C) from (cx, cy, w, h, objectness, p_person, p_car) rows."""
    return np.array(rows, dtype=np.float32)[None]


def save_graph(path: Path, table: np.ndarray, red_mask: np.ndarray, input_shape=(1, 3, INPUT, INPUT)) -> Path:
    """out = table + mean(input[:, 0]) * red_mask, for any output layout."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(table.shape))
    initializers = [
        numpy_helper.from_array(np.array([1, 0, 0], np.float32).reshape(1, 3, 1, 1), "pick_red"),
        numpy_helper.from_array(np.array([1, 1, 1], np.int64), "scalar_shape"),
        numpy_helper.from_array(red_mask.astype(np.float32), "red_mask"),
        numpy_helper.from_array(table.astype(np.float32), "table"),
    ]
    nodes = [
        helper.make_node("Conv", ["images", "pick_red"], ["red"], kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["red"], ["red_mean"]),
        helper.make_node("Reshape", ["red_mean", "scalar_shape"], ["red_scalar"]),
        helper.make_node("Mul", ["red_mask", "red_scalar"], ["red_part"]),
        helper.make_node("Add", ["table", "red_part"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "yolo_layout", [images], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
