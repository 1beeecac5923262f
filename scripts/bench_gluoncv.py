#!/usr/bin/env python3
"""GluonCV forward time alone vs end to end through the frame file, on a fixed 640x480 frame.

The counter must add little to the network: end-to-end overhead (read + decode, pre- and
post-processing, message + publish) under 5% of the forward pass. Pretrained weights need
internet; without --params the script makes random ones (same architecture, same cost).
Exits 1 when the overhead is 5% or more.

    .venv/bin/python scripts/bench_gluoncv.py [--model ssd_512_resnet50_v1_voc] [--frames 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from count_people.benchmark import benchmark, synthetic_frame
from count_people.config import Settings
from count_people.detectors.gluoncv import save_untrained_params

LIMIT_PCT = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ssd_512_resnet50_v1_voc")
    parser.add_argument("--params", help="weights file (default: random weights made here)")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        params = args.params or save_untrained_params(args.model, str(Path(folder) / "random.params"))
        settings = Settings().updated({"detector": "gluoncv", "model": args.model, "params": params})
        result = benchmark(settings, synthetic_frame(640, 480), frames=args.frames, warmup=3)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.model} on 640x480, {args.frames} frames: forward {result['forward_ms']:.1f} ms, "
              f"end to end {result['end_to_end_ms']:.1f} ms per frame, overhead {result['overhead_pct']:.2f}% "
              f"(limit {LIMIT_PCT}%); stages ms {result['stages_ms']}")
    return 0 if result["overhead_pct"] < LIMIT_PCT else 1


if __name__ == "__main__":
    sys.exit(main())
