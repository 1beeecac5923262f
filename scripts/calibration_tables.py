#!/usr/bin/env python3
"""The held-out accuracy tables of docs/content/how-to/detectors.md and README.md, from the shipped calibrations.

Every figure is the ``held_out`` evidence of a calibration (``count-people calibrate --tune``): measured on
footage its thresholds were not tuned on. Remake the files first (scripts/remake_calibrations.py), then:

    .venv/bin/python scripts/calibration_tables.py [--summary] [--rates 1,5,25]

``--summary`` prints README's short table instead; tests/docs checks that both documents hold what this prints.
"""

from __future__ import annotations

import argparse
import json
import sys

from count_people.detectors.calibration import SHIPPED, SUFFIX

MODES = ("detections", "smoothed", "tracks", "fused", "auto")


def calibrations() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob(f"*{SUFFIX}"))]


def table(shipped: list[dict], rates: list[str]) -> str:
    """Every mode's MAE per model, held-out sequence and rate, and whether ``auto`` is within detections'."""
    lines = ["| model | held-out sequence | fps | " + " | ".join(MODES) + " (✓: auto ≤ detections) |",
             "|---|---|---|" + "---|" * len(MODES)]
    for data in shipped:
        for sequence, by_mode in data["held_out"].items():
            for rate in rates:
                maes = {mode: by_mode[mode][rate] for mode in MODES}
                mark = " ✓" if maes["auto"] <= maes["detections"] else " ✗"
                cells = " | ".join(f"{maes[mode]:.3f}" for mode in MODES)
                lines.append(f"| {data['model']} | {sequence} | {float(rate):g} | {cells}{mark} |")
    lines += ["", "| model | tuned on | min_box_height | NMS | detections T | auto: mode from fps |",
              "|---|---|---|---|---|---|"]
    for data in shipped:
        auto = ", ".join(f"{name} from {low:g}" for low, name in data["auto"])
        lines.append(f"| {data['model']} | {' + '.join(data['tuned_on'])} | {data.get('min_box_height', 0)} | "
                     f"{data.get('nms_threshold', '-')} | {data['modes']['detections']['threshold']} | {auto} |")
    return "\n".join(lines)


def summary(shipped: list[dict], rates: list[str]) -> str:
    """``auto``'s MAE per model and held-out sequence at ``rates``, detections' (at the first rate) in brackets."""
    sequences = list(shipped[0]["held_out"])
    shown = " / ".join(f"{float(r):g}" for r in rates)
    lines = ["| model | " + " | ".join(f"{s}: auto at {shown} fps (detections)" for s in sequences) + " |",
             "|---|" + "---|" * len(sequences)]
    for data in shipped:
        cells = []
        for sequence in sequences:
            by_mode = data["held_out"][sequence]
            auto = " / ".join(f"{by_mode['auto'][r]:.2f}" for r in rates)
            cells.append(f"{auto} ({by_mode['detections'][rates[0]]:.2f})")  # detections: nearly the same at any rate
        lines.append(f"| {data['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="1,5,25")
    parser.add_argument("--summary", action="store_true", help="README's table: auto (detections) per sequence")
    args = parser.parse_args()
    rates = [f"{float(r)}" for r in args.rates.split(",")]
    shipped = calibrations()
    print(summary(shipped, rates) if args.summary else table(shipped, rates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
