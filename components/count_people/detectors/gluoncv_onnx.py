"""A GluonCV SSD exported to ONNX (``export``, run by ``ggctl build`` where MXNet is installed) and run on
ONNX Runtime by the gluoncv detector where MXNet cannot be installed: MXNet 1.9.1 imports only beside
numpy<1.24, whose wheels stop at Python 3.11, so Python 3.12 and newer hosts run the export instead.

- The graph ends before GluonCV's NMS (``set_nms(0)``): MXNet's exporter turns ``box_nms`` into a
  class-agnostic NonMaxSuppression (it warns so), which would drop a person under a higher-scoring bicycle
  box. ``box_nms`` below applies MXNet's per-class ``box_nms`` with the network's parameters instead.
- Height and width are dynamic: every frame is resized as on MXNet (``transform_test``), so the export
  counts a frame of any aspect ratio as MXNet does (scripts/onnx_agreement.py measures it).
- ONNX Runtime runs it at BASIC graph optimisation: EXTENDED's GatherSliceToSplitFusion turns this graph
  into an invalid one ("two nodes with same node name", onnxruntime 1.19.2).
- The class names and NMS parameters travel in the file's metadata, so the device needs no GluonCV.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from count_people.errors import UserError

#: What MXNet's box_nms keeps before suppression (GluonCV's SSD passes valid_thresh=0.01).
VALID_THRESHOLD = 0.01


def export(model: str, params: str | None, target: Path) -> Path:
    """Writes the ONNX export of GluonCV SSD ``model`` (weights from ``params``, else pretrained) to ``target``."""
    import mxnet as mx
    import onnx
    from gluoncv import model_zoo

    net = model_zoo.get_model(model, pretrained=params is None, pretrained_base=False)
    if params is not None:
        net.load_parameters(params)
    nms = {"nms_thresh": net.nms_thresh, "nms_topk": net.nms_topk, "post_nms": net.post_nms}
    net.set_nms(nms_thresh=0)  # no NMS in the graph: box_nms below does it per class
    net.hybridize()
    net(mx.nd.zeros((1, 3, 512, 512)))  # builds the graph that export writes
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gluoncv-onnx-", dir=target.parent) as folder:
        net.export(f"{folder}/net")
        mx.onnx.export_model(f"{folder}/net-symbol.json", f"{folder}/net-0000.params", [(1, 3, 512, 512)],
                             [np.float32], f"{folder}/net.onnx", dynamic=True,
                             dynamic_input_shapes=[(1, 3, None, None)])
        graph = onnx.load(f"{folder}/net.onnx")
        # MXNet's exporter lists the weights as graph inputs too, which keeps ONNX Runtime from folding them.
        weights = {tensor.name for tensor in graph.graph.initializer}
        inputs = [value for value in graph.graph.input if value.name not in weights]
        del graph.graph.input[:]
        graph.graph.input.extend(inputs)
        metadata = {"gluoncv_model": model, "classes": json.dumps(list(net.classes)), **nms}
        for key, value in metadata.items():
            graph.metadata_props.add(key=key, value=str(value))
        onnx.save(graph, f"{folder}/model.onnx")
        shutil.move(f"{folder}/model.onnx", target)
    return target


def box_nms(ids: np.ndarray, scores: np.ndarray, boxes: np.ndarray, overlap: float, topk: int,
            keep_at_most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MXNet's ``contrib.box_nms`` as GluonCV's SSD calls it (per class, corner boxes, background id -1).

    Rows scoring above VALID_THRESHOLD, best ``topk`` of them (all classes together), then each row
    suppresses the later rows of its class whose IoU exceeds ``overlap``; the first ``keep_at_most`` remain.
    """
    valid = np.flatnonzero((scores > VALID_THRESHOLD) & (ids >= 0))
    order = valid[np.argsort(-scores[valid], kind="stable")]
    if topk > 0:
        order = order[:topk]
    ids, scores, boxes = ids[order], scores[order], boxes[order]
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (areas[:, None] + areas[None, :] - inter)
    suppresses = (iou > overlap) & (ids[:, None] == ids[None, :])
    kept = np.ones(len(order), dtype=bool)
    for row in range(len(order)):
        if kept[row]:
            kept[row + 1:] &= ~suppresses[row, row + 1:]
    chosen = np.flatnonzero(kept)
    if keep_at_most > 0:
        chosen = chosen[:keep_at_most]
    return ids[chosen], scores[chosen], boxes[chosen]


class ExportedSSD:
    """An ONNX Runtime session over an ``export`` file: network input in, (class ids, scores, boxes) out."""

    def __init__(self, path: str, model: str, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise UserError(f"the ONNX export {path} needs ONNX Runtime ({exc}); reinstall the counter "
                            "(install_mxnet: auto or false installs it)") from None
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT's own exception types
            raise UserError(f"cannot load the ONNX export {path}: {str(exc).strip().splitlines()[0]}") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if metadata.get("gluoncv_model") != model:
            raise UserError(f"{path} is the ONNX export of {metadata.get('gluoncv_model', 'another model')}, not "
                            f"of {model}; rebuild the counter with 'ggctl build' or set model to that network")
        self.classes: Sequence[str] = tuple(json.loads(metadata["classes"]))
        self.nms = (float(metadata["nms_thresh"]), int(metadata["nms_topk"]), int(metadata["post_nms"]))
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(class ids, scores, corner boxes in network-input pixels) after per-class NMS, best first."""
        ids, scores, boxes = self.session.run(None, {self.input_name: batch})
        return box_nms(ids[0, :, 0].astype(int), scores[0, :, 0], boxes[0], *self.nms)


def normalised(rgb: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> Any:
    """(1, 3, H, W) float32 network input from an RGB uint8 image, as MXNet's to_tensor and normalize make it."""
    tensor = rgb.astype(np.float32) / np.float32(255.0)
    tensor = (tensor - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
