"""ONNX Runtime backend for YOLO-family ONNX models (YOLOv5/v8, YOLOX, NanoDet), on CPU or CUDA; INT8 on CPU.

Only opening the session and running it live here; pre- and post-processing are the
shared ``yolo`` code, so this backend and the OpenCV one count the same model alike.
Install with ``pip install 'edge-people-counter[onnxruntime]'`` (``onnxruntime-gpu`` for CUDA).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from count_people.detectors.int8 import cache_entry, calibration_images, publish_entry, warn_fallback
from count_people.detectors.yolo import YoloDetector, first_line
from count_people.errors import UserError

log = logging.getLogger("count_people.detectors.onnxruntime")

#: QOperator (QLinearConv ...) with per-channel weights agreed best with FP32 here (QDQ per-tensor, the only
#: QDQ that opset 11 allows, lost most of YOLOX's scores); docs/content/how-to/int8.md has the measurements.
QUANT_FORMAT = "QOperator"
#: How activation ranges are set from the calibration frames (onnxruntime.quantization.CalibrationMethod).
CALIBRATION = "MinMax"
#: The decoding tail stays FP32: one quantization range cannot hold box offsets and probabilities at once.
FP32_OPS = frozenset({"Concat", "Reshape", "Transpose", "Sigmoid", "Softmax"})


class OnnxRuntimeDetector(YoloDetector):
    """YOLO ONNX models in an ONNX Runtime session; ``context`` gpu:N picks the CUDA provider."""

    session: Any

    def open_model(self) -> tuple[str | None, tuple[int, int] | None]:
        self.session = self._session(self.config.model)
        image = self.session.get_inputs()[0]
        self._input_name = image.name
        self._output_names = [output.name for output in self.session.get_outputs()]
        shape = image.shape
        fixed = len(shape) == 4 and all(isinstance(dim, int) and dim > 0 for dim in shape[2:])
        return None, (shape[3], shape[2]) if fixed else None

    def _session(self, model: str) -> Any:
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: the load error below is reported in one line
        if self.config.threads:
            options.intra_op_num_threads = self.config.threads
            options.inter_op_num_threads = 1
        providers = self._providers(ort.get_available_providers())
        try:
            session = ort.InferenceSession(model, options, providers=providers)
        except Exception as exc:  # ORT raises its own pybind exception types (InvalidProtobuf, Fail, ...)
            raise UserError(f"cannot load model {model!r}: {first_line(exc)}") from None
        if providers[0] != "CPUExecutionProvider" and providers[0][0] not in session.get_providers():
            raise UserError(f"ONNX Runtime could not start {providers[0][0]} for context {self.config.context}")
        return session

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

    def int8_entry(self) -> Path:
        """Cache folder of this model's INT8 version (``model.onnx`` inside once made)."""
        ort = _onnxruntime()
        return cache_entry(self.config.model_cache, self.config.model, None, self.input_size,
                           f"onnxruntime {ort.__version__} {QUANT_FORMAT} {CALIBRATION} FP32 {sorted(FP32_OPS)}")

    def use_int8(self) -> None:
        """Static INT8 quantization (calibrated activations, per-channel weights), made once and cached."""
        if self.config.context != "cpu":
            raise UserError(f"precision int8 runs on the CPU; use --context cpu or --precision fp32 "
                            f"(context {self.config.context})")
        model = self.int8_entry() / "model.onnx"
        if not model.is_file():
            frames = calibration_images(self.config.calibration_source or self.config.source,
                                        self.config.calibration_frames)
            try:
                self.quantize([self.prepare(frame)[0] for frame in frames], model.parent)
            except (ImportError, ValueError, RuntimeError, OSError) as exc:  # onnx missing, unsupported graph
                warn_fallback(self.name, f"{type(exc).__name__}: {exc}")
                return
        try:
            self.session = self._session(str(model))
        except UserError as exc:
            warn_fallback(self.name, str(exc))
            return
        self.precision = "int8"

    def quantize(self, blobs: list[np.ndarray], entry: Path) -> None:
        """Write ``entry/model.onnx``, the model quantized with activation ranges measured on ``blobs``."""
        import onnx
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        name = self._input_name

        class Frames(CalibrationDataReader):
            def __init__(self) -> None:
                self.remaining = iter(blobs)

            def get_next(self) -> dict[str, np.ndarray] | None:
                blob = next(self.remaining, None)
                return None if blob is None else {name: blob}

        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
        try:
            graph = onnx.load(self.config.model)
            # Older exporters list weights as graph inputs too, which the quantizer then treats as data.
            weights = {tensor.name for tensor in graph.graph.initializer}
            inputs = [value for value in graph.graph.input if value.name not in weights]
            del graph.graph.input[:]
            graph.graph.input.extend(inputs)
            onnx.save(graph, str(staging / "inputs.onnx"))
            # Shape inference and graph clean-up first, as ONNX Runtime's quantization guide asks.
            quant_pre_process(str(staging / "inputs.onnx"), str(staging / "prepared.onnx"))
            prepared = onnx.load(str(staging / "prepared.onnx"))
            tail = [node.name for node in prepared.graph.node if node.op_type in FP32_OPS]
            quantize_static(str(staging / "prepared.onnx"), str(staging / "model.onnx"), Frames(),
                            quant_format=getattr(QuantFormat, QUANT_FORMAT), per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=tail,
                            calibrate_method=getattr(CalibrationMethod, CALIBRATION))
            for temporary in ("inputs.onnx", "prepared.onnx"):
                (staging / temporary).unlink()
            publish_entry(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("%s: INT8 model saved in %s", self.name, entry)


def _onnxruntime() -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise UserError(
            f"the onnxruntime detector needs ONNX Runtime ({exc}); install it with "
            "pip install 'edge-people-counter[onnxruntime]', or choose --detector opencv"
        ) from None
    return ort
