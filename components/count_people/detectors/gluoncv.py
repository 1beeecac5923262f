"""GluonCV model-zoo detectors (SSD, YOLOv3, Faster R-CNN) on MXNet, CPU or GPU; INT8 on CPU.

The frame is decoded once by OpenCV; resizing follows GluonCV's ``transform_test``
(short side to ``input_size``, long side capped at twice that, area interpolation) and the
normalisation runs in MXNet on the chosen context, so no PIL or second file read is involved.

``precision: int8`` quantizes the network with MXNet's oneDNN backend
(``mxnet.contrib.quantization.quantize_net_v2``, activation ranges calibrated on real frames,
``FP32_LAYERS`` left in FP32) and caches the graph and parameters (``int8.cache_entry``).

Where MXNet cannot be imported (Python 3.12 or newer) and ``onnx_export`` names the network's ONNX
export (made by ``ggctl build``, gluoncv_onnx.py), the same frames run on ONNX Runtime instead; the log
says which path runs.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from count_people.detectors.base import Detection, StagedDetector
from count_people.detectors.gluoncv_onnx import ExportedSSD, normalised
from count_people.detectors.int8 import QuantizableConfig, cache_entry, calibration_images, publish_entry, warn_fallback
from count_people.errors import UserError

log = logging.getLogger("count_people.detectors.gluoncv")

#: Layers left in FP32: concatenations, and SSD's extra feature layers ("expand"), whose INT8 version
#: decorrelated the heads' outputs from FP32 here (0.16 instead of 0.98 correlation; docs/content/how-to/int8.md).
FP32_LAYERS = ["concat", "expand"]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def resized_shape(height: int, width: int, short: int, max_size: int) -> tuple[int, int]:
    """(new_height, new_width) as GluonCV's ``resize_short_within`` computes it."""
    scale = short / min(height, width)
    if round(scale * max(height, width)) > max_size:
        scale = max_size / max(height, width)
    return round(height * scale), round(width * scale)


def save_untrained_params(model: str, path: str, he_init: bool = False) -> str:
    """Save randomly initialised weights of ``model`` as a ``params`` file.

    Same architecture and cost as the pretrained model, without a download: for benchmarks and
    tests on machines that cannot reach the model zoo. It detects nothing meaningful.
    """
    import mxnet as mx
    from gluoncv import model_zoo

    net = model_zoo.get_model(model, pretrained=False, pretrained_base=False)
    net.initialize()
    net(mx.nd.zeros((1, 3, 512, 512)))  # materialise deferred-shape parameters
    if he_init:
        # He initialisation keeps activations at a trained network's scale through the depth (MXNet's default
        # uniform one lets them grow layer by layer until the scores saturate), so INT8 ranges mean something.
        # Off by default: the tests want the default's spread of weak and strong scores to threshold.
        for name, param in net.collect_params().items():
            if name.endswith("_weight") and len(param.shape) > 1:
                fan_in = int(np.prod(param.shape[1:]))
                param.set_data(mx.nd.random.normal(0, (2.0 / fan_in) ** 0.5, shape=param.shape))
    net.save_parameters(path)
    return path


#: Spread of the class logits and box offsets that save_shaped_params gives an SSD's heads on a real frame.
SHAPED_SPREAD = {"class": 2.0, "box": 0.5}


def save_shaped_params(model: str, path: str, frame: np.ndarray) -> str:
    """Save untrained weights of SSD ``model`` shaped like pretrained ones, calibrated on a BGR ``frame``.

    Random weights give an export nothing to agree on: the SSD's feature layers are a SymbolBlock whose
    batch-norm statistics the default initialiser fills with values around zero (negative variances:
    NaN on ONNX Runtime, arbitrary numbers on MXNet). Here batch norms start as identities, and each
    head is scaled so that its output spreads as SHAPED_SPREAD says on ``frame``: scores from near 0 to
    near 1 and boxes of frame size, as a trained network gives them.
    """
    import mxnet as mx
    from gluoncv import model_zoo

    net = model_zoo.get_model(model, pretrained=False, pretrained_base=False)
    net.initialize()
    height, width = frame.shape[:2]
    new_h, new_w = resized_shape(height, width, 512, 1024)
    rgb = cv2.cvtColor(cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    batch = mx.nd.image.normalize(mx.nd.image.to_tensor(mx.nd.array(rgb, dtype="uint8")), mean=MEAN, std=STD)
    batch = batch.expand_dims(0)
    net(batch)  # materialise deferred-shape parameters
    identity = {"_gamma": 1.0, "_beta": 0.0, "_mean": 0.0, "_var": 1.0}
    for name, param in net.collect_params().items():
        value = next((v for suffix, v in identity.items() if name.endswith(suffix)), None)
        if value is not None:
            param.set_data(mx.nd.full(param.shape, value))
    heads = [(head.predictor, SHAPED_SPREAD["class"]) for head in net.class_predictors]
    heads += [(head.predictor, SHAPED_SPREAD["box"]) for head in net.box_predictors]

    def scaled(spread: float) -> Any:
        def hook(conv: Any, _inputs: Any, output: Any) -> None:
            factor = spread / max(float(output.asnumpy().std()), 1e-12)
            conv.weight.set_data(conv.weight.data() * factor)
            conv.bias.set_data(conv.bias.data() * factor)
            output[:] = output * factor
        return hook

    hooks = [conv.register_forward_hook(scaled(spread)) for conv, spread in heads]
    net(batch)
    for hook in hooks:
        hook.detach()
    net.save_parameters(path)
    return path


@dataclass(frozen=True)
class GluonCVConfig(QuantizableConfig):
    """Model-zoo name, local weights (None: download), its ONNX export, MXNet context and the input's short side."""

    params: str | None
    onnx_export: str | None
    context: str
    input_size: int
    threads: int  # of the ONNX export's session (MXNet takes OMP_NUM_THREADS)


class GluonCVDetector(StagedDetector):
    """Any GluonCV detection model; pretrained weights on first use or a local ``params`` file."""

    config_type = GluonCVConfig
    config: GluonCVConfig

    def __init__(self, config: GluonCVConfig) -> None:
        super().__init__(config)
        self.net: Any = None
        self.ctx: Any = None
        self.export: ExportedSSD | None = None  # set instead of net when MXNet is not installed
        self._class_names: tuple[str, ...] = ()

    @property
    def class_names(self) -> Sequence[str]:
        return self._class_names

    def load(self) -> None:
        try:
            import mxnet as mx
            from gluoncv import model_zoo
        except ImportError as exc:
            self.load_export(str(exc))
            return
        # MXNet warns once per graph about an input type it infers fine anyway.
        warnings.filterwarnings("ignore", message="Cannot decide type", category=UserWarning)
        self.ctx = self._context(mx)
        name, params = self.config.model, self.config.params
        if name.lower() not in model_zoo.get_model_list():
            raise UserError(f"unknown GluonCV model {name!r}; see gluoncv.model_zoo.get_model_list()")
        try:
            net = model_zoo.get_model(name, pretrained=params is None, pretrained_base=False, ctx=self.ctx)
        except Exception as exc:  # download errors come from requests, urllib, or MXNet
            raise UserError(
                f"cannot get pretrained weights for {name} ({type(exc).__name__}: {exc}); "
                "without internet access pass a local weights file with --params FILE"
            ) from None
        if params is not None:
            try:
                net.load_parameters(params, ctx=self.ctx)
            except (AssertionError, ValueError, OSError, mx.base.MXNetError) as exc:
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UserError(f"cannot load {params!r} into {name}: {first_line[:300]}") from None
        net.hybridize(static_alloc=True)
        self.net = net
        self._mx = mx
        log.info("%s: running on MXNet %s", name, mx.__version__)
        self._class_names = tuple(net.classes)
        if self.config.precision == "int8":
            self._use_int8()

    def load_export(self, missing: str) -> None:
        """Runs the network's ONNX export on ONNX Runtime (``missing``: why not MXNet); one line without it."""
        export = self.config.onnx_export
        if not export:
            raise UserError(
                f"the gluoncv detector needs MXNet and GluonCV ({missing}), or the network's ONNX export "
                "(onnx_export, packaged by ggctl build); install them with pip install "
                "'edge-people-counter[mxnet]' (Python 3.11 or older), or choose another --detector"
            )
        if self.config.context != "cpu":
            raise UserError(f"the ONNX export runs on the CPU here (MXNet is not installed: {missing}); "
                            f"use --context cpu (context {self.config.context})")
        self.export = ExportedSSD(export, self.config.model, self.config.threads)
        self._class_names = tuple(self.export.classes)
        log.info("%s: MXNet not installed (%s); running the ONNX export %s on ONNX Runtime", self.config.model,
                 missing, export)
        if self.config.precision == "int8":
            warn_fallback(self.name, "INT8 needs MXNet; the ONNX export runs in FP32")

    def int8_entry(self) -> Path:
        """Cache folder of this model's INT8 graph (``net-symbol.json``, ``net-0000.params``)."""
        return cache_entry(self.config.model_cache, self.config.model, self.config.params, self.config.input_size,
                           f"mxnet {self._mx.__version__} oneDNN naive FP32 {FP32_LAYERS}")

    def _use_int8(self) -> None:
        if self.config.context != "cpu":
            raise UserError(f"precision int8 runs on the CPU (oneDNN); use --context cpu or --precision fp32 "
                            f"(context {self.config.context})")
        mx = self._mx
        entry = self.int8_entry()
        try:
            if not (entry / "net-symbol.json").is_file():
                frames = calibration_images(self.config.calibration_source or self.config.source,
                                            self.config.calibration_frames)
                self.quantize(frames, entry)
            net = mx.gluon.SymbolBlock.imports(str(entry / "net-symbol.json"), ["data"],
                                               str(entry / "net-0000.params"), ctx=self.ctx)
            # static_shape keeps oneDNN's reordered INT8 weights between calls: 87 instead of 161 ms per
            # 683x512 frame here (FP32 gains nothing from it); a new frame size rebuilds the graph once.
            net.hybridize(static_alloc=True, static_shape=True)
            net(self.preprocess(np.zeros((64, 64, 3), np.uint8)))[0].wait_to_read()  # fails here without oneDNN
        except (mx.base.MXNetError, RuntimeError, ValueError, AssertionError, OSError) as exc:
            warn_fallback(self.name, f"{type(exc).__name__}: {exc}")
            return
        self.net = net
        self.precision = "int8"

    def quantize(self, frames: Sequence[np.ndarray], entry: Path) -> None:
        """Quantize the loaded FP32 network, calibrated on ``frames``, into the cache folder ``entry``."""
        from mxnet.contrib.quantization import quantize_net_v2

        mx = self._mx
        height, width = frames[0].shape[:2]  # one batch shape for the calibration iterator
        batches = [self.preprocess(cv2.resize(f, (width, height)) if f.shape[:2] != (height, width) else f)
                   for f in frames]
        calibration = mx.io.NDArrayIter(data=mx.nd.concat(*batches, dim=0), batch_size=1)
        quantized = quantize_net_v2(
            self.net, quantized_dtype="auto", exclude_layers_match=FP32_LAYERS, calib_data=calibration,
            calib_mode="naive", num_calib_examples=len(batches), ctx=self.ctx, logger=log,
        )
        quantized.hybridize(static_alloc=True)
        quantized(batches[0])[0].wait_to_read()  # export needs the graph built by one forward pass
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
        try:
            quantized.export(str(staging / "net"))
            publish_entry(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("%s: INT8 graph saved in %s", self.name, entry)

    def _context(self, mx: Any) -> Any:
        if self.config.context == "cpu":
            return mx.cpu()
        index = int(self.config.context.split(":")[1])
        available = mx.context.num_gpus()
        if index >= available:
            raise UserError(
                f"context {self.config.context} requested but MXNet sees {available} GPU(s); "
                "use --context cpu, or install a CUDA build of MXNet (e.g. mxnet-cu112) on a GPU machine"
            )
        return mx.gpu(index)

    def resized_rgb(self, image: np.ndarray) -> np.ndarray:
        """BGR uint8 frame -> RGB uint8 image at the network's input size (GluonCV's transform_test)."""
        height, width = image.shape[:2]
        new_h, new_w = resized_shape(height, width, self.config.input_size, 2 * self.config.input_size)
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)

    def preprocess(self, image: np.ndarray) -> Any:
        """BGR uint8 frame -> normalised (1, 3, H, W) NDArray on the context (numpy array for the export)."""
        if self.export is not None:
            return normalised(self.resized_rgb(image), MEAN, STD)
        mx = self._mx
        tensor = mx.nd.image.to_tensor(mx.nd.array(self.resized_rgb(image), ctx=self.ctx, dtype="uint8"))
        return mx.nd.image.normalize(tensor, mean=MEAN, std=STD).expand_dims(0)

    def prepare(self, image: np.ndarray) -> tuple[Any, tuple[int, int, int, int]]:
        batch = self.preprocess(image)
        if self.export is None:
            batch.wait_to_read()  # MXNet is asynchronous: else forward's time would include preprocessing
        return batch, (*image.shape[:2], *batch.shape[2:])

    def forward(self, batch: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.export is not None:
            return self.export(batch)
        class_ids, scores, boxes = self.net(batch)
        return class_ids[0, :, 0].asnumpy().astype(int), scores[0, :, 0].asnumpy(), boxes[0].asnumpy()

    def postprocess(
        self, outputs: tuple[np.ndarray, np.ndarray, np.ndarray], context: tuple[int, int, int, int]
    ) -> list[Detection]:
        class_ids, scores, boxes = outputs
        height, width, batch_height, batch_width = context
        scale = np.array([width / batch_width, height / batch_height] * 2, dtype=np.float32)
        limit = np.array([width, height, width, height], dtype=np.float32)
        wanted = {self._class_names.index(c) for c in self.config.classes}
        keep = (scores >= self.config.threshold) & np.isin(class_ids, list(wanted))
        return [
            Detection(self._class_names[cid], float(score), tuple(np.clip(box * scale, 0, limit).tolist()))
            for cid, score, box in zip(class_ids[keep], scores[keep], boxes[keep])
        ]
