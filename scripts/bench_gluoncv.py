#!/usr/bin/env python3
"""GluonCV forward time alone vs end to end through the frame file; with --int8, FP32 and INT8 side by side.

The counter must add little to the network: end-to-end overhead (read + decode, pre- and
post-processing, message + publish) under 5% of the forward pass. Pretrained weights need
internet; without --params the script makes random ones (same architecture, same cost).

With --int8 the same detector settings also run at precision int8 (calibrated on --calibration
frames, cached in a temporary folder), in rounds that alternate FP32 and INT8 so both see the
same machine load; it prints the end-to-end speed-up and the agreement of the raw SSD class-score
and box-offset tensors (before decoding) on --agreement real frames. Exit 1 when the overhead is
5% or more, or (with --int8) the speed-up is under --min-speedup.

    .venv/bin/python scripts/bench_gluoncv.py [--model ssd_512_resnet50_v1_voc] [--frames 20] [--int8]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from count_people.benchmark import benchmark, load_frame
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.gluoncv import GluonCVDetector, save_untrained_params
from count_people.detectors.int8 import calibration_images

LIMIT_PCT = 5.0
FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
CAMPUS = FOOTAGE / "TUD-Campus" / "TUD-Campus.mp4"
STADTMITTE = FOOTAGE / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4"
#: The SSD heads' concatenated class scores and box offsets, before softmax, anchors and NMS.
RAW_OUTPUTS = re.compile(r"^ssd\d+_concat[01]_output$")


def raw_heads(net: Any, folder: Path, name: str, batch: Any) -> Any:
    """A block giving the raw (class scores, box offsets) of an SSD: its exported graph cut before decoding."""
    import mxnet as mx

    net(batch)[0].wait_to_read()
    net.export(str(folder / name))
    internals = mx.sym.load(str(folder / f"{name}-symbol.json")).get_internals()
    outputs = [internals[n] for n in sorted(filter(RAW_OUTPUTS.match, internals.list_outputs()))]
    block = mx.gluon.SymbolBlock(mx.sym.Group(outputs), mx.sym.var("data"))
    block.collect_params().load(str(folder / f"{name}-0000.params"), ignore_extra=True)
    return block


def agreement(fp32: GluonCVDetector, int8: GluonCVDetector, frames: list[np.ndarray], folder: Path) -> dict:
    """Relative error ||int8 - fp32|| / ||fp32|| and correlation of each raw head over all frames."""
    first = fp32.preprocess(frames[0])
    heads = [raw_heads(d.net, folder, f"heads-{d.precision}", first) for d in (fp32, int8)]
    pairs: dict[str, tuple[list, list]] = {"class_scores": ([], []), "box_offsets": ([], [])}
    for image in frames:
        batch = fp32.preprocess(image)
        for side, block in enumerate(heads):
            for key, tensor in zip(pairs, block(batch)):
                pairs[key][side].append(tensor.asnumpy().ravel())
    result = {}
    for key, (reference, quantized) in pairs.items():
        a, b = np.concatenate(reference), np.concatenate(quantized)
        result[key] = {"relative_error": float(np.linalg.norm(b - a) / np.linalg.norm(a)),
                       "correlation": float(np.corrcoef(a, b)[0, 1])}
    return result


def interleaved(settings: dict[str, Settings], image: np.ndarray, frames: int, rounds: int) -> dict[str, dict]:
    """Load each precision once, then alternate rounds of frames between them; means over all rounds."""
    detectors = {}
    for name, config in settings.items():
        detectors[name] = create_detector(config)
        detectors[name].load()
    runs: dict[str, list[dict]] = {name: [] for name in settings}
    for _ in range(rounds):
        for name, config in settings.items():
            runs[name].append(benchmark(config, image, frames=frames, warmup=1, detector=detectors[name]))
    result = {}
    for name, done in runs.items():
        end_to_end = statistics.fmean(r["end_to_end_ms"] for r in done)
        forward = statistics.fmean(r["forward_ms"] for r in done)
        result[name] = {**done[-1], "frames": frames * rounds, "precision": detectors[name].precision,
                        "forward_ms": round(forward, 2), "end_to_end_ms": round(end_to_end, 2),
                        "fps": round(1000 / end_to_end, 3),
                        "overhead_pct": round((end_to_end - forward) / forward * 100, 2)}
    result["detectors"] = detectors  # type: ignore[assignment]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ssd_512_resnet50_v1_voc")
    parser.add_argument("--params", help="weights file (default: random weights made here)")
    parser.add_argument("--frames", type=int, default=20, help="timed frames per precision")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of FP32 and INT8 (with --int8)")
    parser.add_argument("--image", default=str(CAMPUS), help="frame to time (image or video: first frame)")
    parser.add_argument("--int8", action="store_true", help="also run INT8 and compare")
    parser.add_argument("--calibration", default=str(CAMPUS), help="video or image folder to calibrate INT8 on")
    parser.add_argument("--agreement", default=str(STADTMITTE), help="video whose frames measure agreement")
    parser.add_argument("--agreement-frames", type=int, default=50)
    parser.add_argument("--min-speedup", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    image = load_frame(args.image if Path(args.image).exists() else None, (640, 480))
    with tempfile.TemporaryDirectory() as folder:
        params = args.params or save_untrained_params(args.model, str(Path(folder) / "random.params"), he_init=True)
        fp32 = Settings().updated({"detector": "gluoncv", "model": args.model, "params": params})
        configs = {"fp32": fp32}
        if args.int8:
            configs["int8"] = fp32.updated({"precision": "int8", "model_cache": str(Path(folder) / "cache"),
                                            "calibration_source": args.calibration})
        result = interleaved(configs, image, args.frames // (args.rounds if args.int8 else 1),
                             args.rounds if args.int8 else 1)
        detectors = result.pop("detectors")
        if args.int8:
            result["speedup"] = round(result["int8"]["fps"] / result["fp32"]["fps"], 2)
            frames = calibration_images(args.agreement, args.agreement_frames)
            result["agreement"] = agreement(detectors["fp32"], detectors["int8"], frames, Path(folder))
            result["agreement_frames"] = len(frames)
    if args.json:
        print(json.dumps(result))
    else:
        for name in configs:
            r = result[name]
            print(f"{args.model} {r['precision']} on {image.shape[1]}x{image.shape[0]}, {r['frames']} frames: forward "
                  f"{r['forward_ms']:.1f} ms, end to end {r['end_to_end_ms']:.1f} ms ({r['fps']:.2f} fps), overhead "
                  f"{r['overhead_pct']:.2f}% (limit {LIMIT_PCT}%); stages ms {r['stages_ms']}")
        if args.int8:
            print(f"INT8 end to end {result['speedup']:.2f}x FP32 (required {args.min_speedup}x); raw heads on "
                  f"{result['agreement_frames']} frames of {Path(args.agreement).name}: " + ", ".join(
                      f"{key} relative error {v['relative_error']:.4f}, correlation {v['correlation']:.4f}"
                      for key, v in result["agreement"].items()))
    ok = result["fp32"]["overhead_pct"] < LIMIT_PCT
    return 0 if ok and (not args.int8 or result["speedup"] >= args.min_speedup) else 1


if __name__ == "__main__":
    sys.exit(main())
