"""ONNX Runtime backend for YOLOv5/YOLOv8-style ONNX exports, on CPU or CUDA.

Only opening the session and running it live here; pre- and post-processing are the
shared ``yolo`` code, so this backend and the OpenCV one count the same model alike.
Install with ``pip install 'edge-people-counter[onnxruntime]'`` (``onnxruntime-gpu`` for CUDA).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from count_people.detectors.yolo import YoloDetector, first_line
from count_people.errors import UserError


class OnnxRuntimeDetector(YoloDetector):
    """YOLO ONNX models in an ONNX Runtime session; ``context`` gpu:N picks the CUDA provider."""

    session: Any

    def open_model(self) -> tuple[str | None, tuple[int, int] | None]:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise UserError(
                f"the onnxruntime detector needs ONNX Runtime ({exc}); install it with "
                "pip install 'edge-people-counter[onnxruntime]', or choose --detector opencv"
            ) from None
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: the load error below is reported in one line
        if self.config.threads:
            options.intra_op_num_threads = self.config.threads
            options.inter_op_num_threads = 1
        providers = self._providers(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(self.config.model, options, providers=providers)
        except Exception as exc:  # ORT raises its own pybind exception types (InvalidProtobuf, Fail, ...)
            raise UserError(f"cannot load model {self.config.model!r}: {first_line(exc)}") from None
        if providers[0] != "CPUExecutionProvider" and providers[0][0] not in self.session.get_providers():
            raise UserError(f"ONNX Runtime could not start {providers[0][0]} for context {self.config.context}")
        image = self.session.get_inputs()[0]
        self._input_name = image.name
        self._output_names = [self.session.get_outputs()[0].name]
        shape = image.shape
        fixed = len(shape) == 4 and all(isinstance(dim, int) and dim > 0 for dim in shape[2:])
        return None, (shape[3], shape[2]) if fixed else None

    def _providers(self, available: Sequence[str]) -> list[Any]:
        if self.config.context == "cpu":
            return ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" not in available:
            raise UserError(
                f"context {self.config.context} needs the CUDA provider, and this ONNX Runtime offers only "
                f"{', '.join(available)}; install onnxruntime-gpu or use --context cpu"
            )
        device = int(self.config.context.split(":")[1])
        return [("CUDAExecutionProvider", {"device_id": device}), "CPUExecutionProvider"]

    def forward(self, inputs: np.ndarray) -> Sequence[np.ndarray]:
        try:
            return self.session.run(self._output_names, {self._input_name: inputs})
        except Exception as exc:  # ORT's own exception types; a bad input shape is the usual cause
            raise UserError(f"model {self.name} failed on a {inputs.shape} input: {first_line(exc)}") from None
