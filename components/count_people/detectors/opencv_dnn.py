"""OpenCV DNN backend: Darknet (``.cfg`` + ``.weights``) and ONNX YOLO models, no extra runtime.

OpenCV is already needed to decode frames, so this backend adds nothing to install and
runs the Yolo-Fastest family at well over 25 frames per second on two CPU cores.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from count_people.detectors.yolo import YoloDetector, first_line
from count_people.errors import UserError


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of one protobuf message; length-delimited values stay views (no copy)."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, varint()
        elif wire == 2:
            length = varint()
            yield number, data[pos:pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def onnx_input_size(path: str) -> tuple[int, int] | None:
    """(width, height) of an ONNX model's image input, or None when dynamic.

    OpenCV does not expose a model's declared input shape, and the ``onnx`` package is too
    heavy a dependency for four numbers, so this walks the protobuf: ModelProto.graph(7) ->
    input(11) minus initializer(5) names -> type(2).tensor_type(1).shape(2).dim(1).dim_value(1).
    """
    graph = next((v for n, v in _fields(memoryview(Path(path).read_bytes())) if n == 7), None)
    if not isinstance(graph, memoryview):
        raise ValueError("no graph in the ONNX file")
    inputs, initializers = [], set()
    for number, value in _fields(graph):
        if number == 11:
            inputs.append(value)
        elif number == 5:
            initializers.update(bytes(v) for n, v in _fields(value) if n == 8)
    for value_info in inputs:
        fields = dict(_fields(value_info))
        if bytes(fields.get(1, b"")) in initializers:
            continue
        tensor = dict(_fields(fields[2])).get(1) if 2 in fields else None
        shape = dict(_fields(tensor)).get(2) if tensor is not None else None
        dims = [dict(_fields(dim)).get(1, 0) for n, dim in _fields(shape) if n == 1] if shape is not None else []
        if len(dims) == 4 and dims[2] > 0 and dims[3] > 0:
            return dims[3], dims[2]
        return None
    raise ValueError("the ONNX graph has no input")


def darknet_input_size(cfg: str) -> tuple[int, int]:
    """(width, height) from the ``[net]`` section of a Darknet cfg."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        # Darknet repeats section names ([convolutional] ...); only the first section matters.
        text = Path(cfg).read_text(encoding="utf-8", errors="replace")
        parser.read_string(text[: text.find("[", text.find("[") + 1)])
        return int(parser["net"]["width"]), int(parser["net"]["height"])
    except (KeyError, ValueError, configparser.Error):
        raise UserError(f"{cfg!r} is not a Darknet cfg: it needs a [net] section with width and height") from None


def check_darknet_weights(net: cv2.dnn.Net, cfg: str, weights: str) -> None:
    """Fail when the weights file does not hold exactly the parameters the cfg declares.

    OpenCV reads Darknet weights sequentially and silently accepts a file of another model
    (too short reads as zeros, too long is ignored), which would count garbage. The file is a
    header (major, minor, revision as int32, then images seen as int64 from version 0.2 on)
    followed by one float32 per parameter; the parameters are the blobs OpenCV built from
    the cfg, except the [yolo] layers' anchors.
    """
    header = np.fromfile(weights, dtype=np.int32, count=3)
    if len(header) < 3:
        raise UserError(f"Darknet weights {weights!r} are too short to be a weights file")
    major, minor = int(header[0]), int(header[1])
    header_bytes = 20 if major * 10 + minor >= 2 and major < 1000 and minor < 1000 else 16
    declared = sum(
        blob.size for name in net.getLayerNames() if (layer := net.getLayer(name)).type != "Region"
        for blob in layer.blobs
    )
    stored = (Path(weights).stat().st_size - header_bytes) // 4
    if stored != declared:
        raise UserError(
            f"weights {Path(weights).name} hold {stored} parameters but {Path(cfg).name} declares {declared}; "
            "the weights belong to another model"
        )


class OpenCVDetector(YoloDetector):
    """YOLO models through ``cv2.dnn``: Darknet cfg+weights or ONNX (YOLOv5/YOLOv8 layouts)."""

    net: cv2.dnn.Net

    def open_model(self) -> tuple[str | None, tuple[int, int] | None]:
        model, weights = self.config.model, self.config.params
        suffix = Path(model).suffix.lower()
        try:
            if suffix == ".cfg":
                if weights is None:
                    raise UserError(f"Darknet model {model!r} needs its weights: --params FILE.weights")
                size = darknet_input_size(model)
                self.net, layout = cv2.dnn.readNetFromDarknet(model, weights), "darknet"
                check_darknet_weights(self.net, model, weights)
            elif suffix == ".onnx":
                size, layout = onnx_input_size(model), None
                self.net = cv2.dnn.readNetFromONNX(model)
            else:
                raise UserError(f"the opencv detector reads Darknet .cfg or .onnx models, not {model!r}")
        except (cv2.error, ValueError, IndexError, OSError) as exc:
            raise UserError(f"cannot load model {model!r}: {first_line(exc)}") from None
        if self.net.empty():
            raise UserError(f"cannot load model {model!r}: OpenCV read no layers")
        self._use_context()
        if self.config.threads:
            cv2.setNumThreads(self.config.threads)  # process-wide in OpenCV
        self._outputs = self.net.getUnconnectedOutLayersNames()
        return layout, size

    def _use_context(self) -> None:
        if self.config.context == "cpu":
            self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
            return
        if cv2.cuda.getCudaEnabledDeviceCount() == 0:
            raise UserError(
                f"context {self.config.context} needs OpenCV built with CUDA, and this OpenCV has none; "
                "use --context cpu, or --detector onnxruntime with onnxruntime-gpu"
            )
        cv2.cuda.setDevice(int(self.config.context.split(":")[1]))
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)

    def forward(self, inputs: np.ndarray) -> Sequence[np.ndarray]:
        self.net.setInput(inputs)
        try:
            return self.net.forward(self._outputs)
        except cv2.error as exc:
            raise UserError(f"model {self.name} failed on a {inputs.shape} input: {first_line(exc)}") from None
