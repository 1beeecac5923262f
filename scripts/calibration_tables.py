#!/usr/bin/env python3
"""The held-out accuracy tables of docs/content/how-to/detectors.md, from the shipped calibration files.

Every figure is the ``held_out`` evidence of a calibration (``count-people calibrate --tune``): measured on
footage its thresholds were not tuned on. Remake the files first (the command is in each file), then:

    .venv/bin/python scripts/calibration_tables.py [--rates 1,5,25]
"""

from __future__ import annotations

import argparse
import json
import sys

from count_people.detectors.calibration import SHIPPED, SUFFIX

MODES = ("detections", "smoothed", "tracks", "fused", "auto")


def rows(data: dict, rates: list[str]) -> list[str]:
    lines = []
    for sequence, by_mode in data["held_out"].items():
        for rate in rates:
            maes = {mode: by_mode[mode][rate] for mode in MODES}
            marks = " ✓" if maes["auto"] <= maes["detections"] else " ✗"
            cells = " | ".join(f"{maes[mode]:.3f}" for mode in MODES)
            lines.append(f"| {data['model']} | {sequence} | {float(rate):g} | {cells}{marks} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="1,5,25")
    args = parser.parse_args()
    rates = [f"{float(r)}" for r in args.rates.split(",")]
    print("| model | held-out sequence | fps | " + " | ".join(MODES) + " (✓: auto ≤ detections) |")
    print("|---|---|---|" + "---|" * len(MODES))
    for path in sorted(SHIPPED.glob(f"*{SUFFIX}")):
        print("\n".join(rows(json.loads(path.read_text(encoding="utf-8")), rates)))
    print()
    print("| model | tuned on | NMS | detections T | auto: mode from fps |")
    print("|---|---|---|---|---|")
    for path in sorted(SHIPPED.glob(f"*{SUFFIX}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        auto = ", ".join(f"{name} from {low:g}" for low, name in data["auto"])
        print(f"| {data['model']} | {' + '.join(data['tuned_on'])} | {data.get('nms_threshold', '-')} | "
              f"{data['modes']['detections']['threshold']} | {auto} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
