#!/usr/bin/env python3
"""The backend table of docs/content/how-to/detectors.md: ``count-people evaluate`` count MAE and ms per frame
of the shared ONNX models, FP32 through both YOLO backends and INT8 through ONNX Runtime, on TUD-Campus and
TUD-Stadtmitte.

Thresholds, NMS, labels and layout come from the model catalog (nothing is set here). INT8 is
calibrated on the other sequence's frames, so no sequence calibrates its own evaluation.
ms per frame is evaluate's wall time per frame (video decoding included) on this machine.

    .venv/bin/python scripts/evaluate_backends.py [--models yolox-nano/yolox_nano_416_coco.onnx ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from count_people.config import Settings
from count_people.evaluation.cli import evaluate

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
MODELS = ("yolox-nano/yolox_nano_416_coco.onnx", "nanodet-m/nanodet_m_416_coco.onnx")
RUNS = (("opencv", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))


def video(sequence: str) -> Path:
    return SHARED / "footage" / sequence / f"{sequence}.mp4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="paths under ../shared/models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for model in args.models:
            for detector, precision in RUNS:
                row = {"model": Path(model).name, "detector": detector, "precision": precision}
                for sequence in SEQUENCES:
                    other = next(s for s in SEQUENCES if s != sequence)
                    settings = Settings().updated({
                        "detector": detector, "model": str(SHARED / "models" / model), "precision": precision,
                        "source": str(video(sequence)), "calibration_source": str(video(other)),
                        "model_cache": str(Path(cache) / other),
                    })
                    result = evaluate(settings, video(sequence).parent / "gt" / "gt.txt", None)
                    row[sequence] = {"mae": round(result["mae"], 3), "ms": round(1000 / result["fps"], 1)}
                rows.append(row)
                print(f"| {row['model']} | {detector} | {precision} | "
                      + " | ".join(f"{row[s]['mae']:.3f} | {row[s]['ms']:.1f}" for s in SEQUENCES) + " |", flush=True)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
