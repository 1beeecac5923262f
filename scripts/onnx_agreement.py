#!/usr/bin/env python3
"""The gluoncv detector on MXNet vs on its ONNX export (ONNX Runtime, BASIC): agreement and speed on real frames.

Exports ``--model`` as ``ggctl build`` does (gluoncv_onnx.export), runs the same frames through the
detector on both paths and prints, over every detection scoring at least --min-score on MXNet: the
largest score difference, the largest box-corner difference in frame pixels, and the detections that
have no same-class partner on the other path; then the export time and the forward ms/frame of both.
Exit 1 when the detections differ or a difference exceeds --score-tolerance / --box-tolerance.

Without --params it makes weights shaped like pretrained ones (gluoncv.save_shaped_params, calibrated on
the first frame): no model zoo download.

    .venv/bin/python scripts/onnx_agreement.py [--frames 4] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.base import Detection
from count_people.detectors.gluoncv import GluonCVDetector, save_shaped_params
from count_people.detectors.gluoncv_onnx import export
from count_people.detectors.int8 import calibration_images

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
VIDEOS = (FOOTAGE / "TUD-Campus" / "TUD-Campus.mp4", FOOTAGE / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ssd_512_resnet50_v1_voc")
    parser.add_argument("--params", help="weights (default: shaped random weights made here)")
    parser.add_argument("--video", action="append", type=Path, help="footage (default: TUD-Campus, TUD-Stadtmitte)")
    parser.add_argument("--frames", type=int, default=4, help="frames per video")
    parser.add_argument("--min-score", type=float, default=0.1, help="detections compared from this score up")
    parser.add_argument("--score-tolerance", type=float, default=1e-3)
    parser.add_argument("--box-tolerance", type=float, default=0.5, help="frame pixels")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def compare(reference: list[Detection], other: list[Detection], min_score: float,
            score_tolerance: float) -> tuple[float, float, int]:
    """(largest score difference, largest box-corner difference, unmatched detections) of one frame.

    Each detection scoring ``min_score`` or more on one path is paired with the same-class detection of
    the other path whose box lies closest; a detection within ``score_tolerance`` of ``min_score`` may
    lack a partner (it may fall on either side of the cut).
    """
    worst_score = worst_box = 0.0
    unmatched = 0
    for mine, theirs in ((reference, other), (other, reference)):
        for detection in mine:
            if detection.score < min_score:
                continue
            partners = [d for d in theirs if d.label == detection.label]
            if not partners:
                unmatched += detection.score >= min_score + score_tolerance
                continue
            box = np.asarray(detection.box)
            partner = min(partners, key=lambda d: float(np.abs(np.asarray(d.box) - box).max()))
            worst_box = max(worst_box, float(np.abs(np.asarray(partner.box) - box).max()))
            worst_score = max(worst_score, abs(partner.score - detection.score))
    return worst_score, worst_box, unmatched


def forward_ms(detector: GluonCVDetector, frames: list[np.ndarray]) -> float:
    """Median forward time (network, and the export's NMS) per frame, prepared inputs reused."""
    prepared = [detector.prepare(frame)[0] for frame in frames]
    detector.forward(prepared[0])  # warm-up (MXNet allocates, ORT plans)
    times = []
    for batch in prepared:
        start = time.perf_counter()
        detector.forward(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    videos = args.video or [video for video in VIDEOS if video.is_file()]
    if not videos:
        raise SystemExit(f"no footage: pass --video FILE (looked for {', '.join(map(str, VIDEOS))})")
    frames = [frame for video in videos for frame in calibration_images(str(video), args.frames)]
    params = args.params or save_shaped_params(args.model, str(folder / "shaped.params"), frames[0])
    start = time.perf_counter()
    onnx_file = export(args.model, params, folder / "model.onnx")
    export_s = time.perf_counter() - start
    settings = Settings(model=args.model, params=params, onnx_export=str(onnx_file), threshold=args.min_score,
                        classes=("person",))
    on_mxnet, on_export = create_detector(settings), create_detector(settings)
    assert isinstance(on_mxnet, GluonCVDetector) and isinstance(on_export, GluonCVDetector)
    on_mxnet.load()
    on_export.load_export("compared with MXNet")
    # Every class: untrained weights rarely score a person, and the paths must agree on all of them.
    every_class = dataclasses.replace(on_mxnet.config, classes=tuple(on_mxnet.class_names))
    on_mxnet, on_export = on_mxnet.retuned(every_class), on_export.retuned(every_class)
    per_frame = [compare(on_mxnet.detect(f), on_export.detect(f), args.min_score, args.score_tolerance)
                 for f in frames]
    compared = sum(sum(d.score >= args.min_score for d in on_mxnet.detect(f)) for f in frames)
    return {
        "model": args.model, "frames": len(frames), "videos": [v.name for v in videos],
        "compared_detections": compared, "min_score": args.min_score,
        "max_score_difference": max(s for s, _, _ in per_frame),
        "max_box_difference_px": max(b for _, b, _ in per_frame),
        "unmatched_detections": sum(u for _, _, u in per_frame),
        "export_s": round(export_s, 1), "export_mb": round(onnx_file.stat().st_size / 1e6, 1),
        "mxnet_forward_ms": round(forward_ms(on_mxnet, frames)),
        "onnxruntime_forward_ms": round(forward_ms(on_export, frames)),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="onnx-agreement-") as folder:
        result = measure(args, Path(folder))
    ok = (result["unmatched_detections"] == 0 and result["max_score_difference"] <= args.score_tolerance
          and result["max_box_difference_px"] <= args.box_tolerance)
    result["within_tolerance"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
