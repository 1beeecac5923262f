#!/usr/bin/env python3
"""Count MAE of per-frame detections vs confirmed tracks (``count_from``), threshold chosen on one sequence.

For each threshold T: ``detections`` counts boxes scoring >= T; ``tracks`` lets the detector pass
boxes down to ``--floor`` and counts the confirmed tracks seen in each frame, with T as the
tracker's threshold to start a track (so both use the same T for a confident detection). T is
chosen per mode on the tuning sequence and reported on both (no tuning on the other).

    .venv/bin/python scripts/sweep_count_from.py [--tune TUD-Campus] [--detector opencv --model ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from count_people.config import Settings
from count_people.evaluation.cli import evaluate

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
BODY = SHARED / "models/yolo-fastest/yolo-fastest-1.1_body"


def mae(base: dict, sequence: str, mode: str, threshold: float, floor: float) -> float:
    video = SHARED / "footage" / sequence / f"{sequence}.mp4"
    changes = {**base, "source": str(video), "count_from": mode}
    if mode == "tracks":
        changes |= {"threshold": floor, "tracker_high_threshold": threshold}
    else:
        changes |= {"threshold": threshold}
    return evaluate(Settings().updated(changes), video.parent / "gt" / "gt.txt", None)["mae"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", choices=SEQUENCES, default=SEQUENCES[0])
    parser.add_argument("--floor", type=float, default=0.1, help="detector threshold in tracks mode")
    parser.add_argument("--thresholds", default="0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75")
    parser.add_argument("--settings", default=json.dumps({"detector": "opencv", "model": f"{BODY}.cfg",
                                                          "params": f"{BODY}.weights"}),
                        help="JSON of other settings (default: the shared Yolo-Fastest body model)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    base = json.loads(args.settings)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    other = next(s for s in SEQUENCES if s != args.tune)
    result = {}
    for mode in ("detections", "tracks"):
        tuned = {t: mae(base, args.tune, mode, t, args.floor) for t in thresholds}
        best = min(tuned, key=tuned.get)
        result[mode] = {"threshold": best, args.tune: tuned[best], other: mae(base, other, mode, best, args.floor),
                        "sweep": tuned}
        print(f"{mode:10s} T={best:.2f} (chosen on {args.tune}): MAE {args.tune} {tuned[best]:.3f}, "
              f"{other} {result[mode][other]:.3f}", flush=True)
    for sequence in SEQUENCES:
        gain = 1 - result["tracks"][sequence] / result["detections"][sequence]
        print(f"{sequence}: tracks {gain:+.1%} lower MAE than detections")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
