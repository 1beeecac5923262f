"""``count-people calibrate``: a model's counting thresholds (``--tune``), or its cached INT8 model.

Thresholds (``--tune A --report B``): the threshold, NMS and count-mode parameters that count best
are chosen on the ``--tune`` footage only, and every figure printed and stored is measured on the
``--report`` footage, which must be other sequences: a calibration is never reported on what it was
tuned on. The objective is the mean count MAE over the rates of ``sweep.RATES`` (each sequence
subsampled, ``sweep.py``), each footage weighing the same. Smoothing and track support count at the
threshold tuned for detections (only their window and hold are tuned): they add what detections miss, and
a threshold of their own would fit the tuning scene's bias, which another scene does not share. ``auto``
takes, at each rate, the mode with the lowest tuning MAE there among those no worse than detections on any
tuning footage (by more than ``AUTO_TOLERANCE``), detections unless another is lower. ``min_box_height``,
a property of the scene (the smallest person its labels count), is applied while tuning and recorded in
the file. ``--write`` stores it beside the model (``detectors/calibration.py``).

INT8 (no ``--tune``): the counter also calibrates by itself at its first start with ``precision: int8``,
on frames of its source; this does it ahead of time, on chosen footage, so the device starts in seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from count_people.arguments import add_settings_arguments, parse_with_settings
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.calibration import FORMAT, beside, fingerprint
from count_people.errors import UserError
from count_people.evaluation.sweep import (
    FLOOR,
    RATES,
    Footage,
    candidate_settings,
    detect,
    fixed,
    format_table,
    halves,
    mae,
)
from count_people.tracking.counting import CountMode, CountPolicy
from count_people.tracking.tracker import TrackerParams

#: The grid searched on the tuning footage (coarse on purpose: a fine one fits the tuning footage's noise).
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(11))
#: Modes with a tracker cost a tracker run per setting: half the thresholds.
TRACKER_THRESHOLDS = THRESHOLDS[::2]
NMS = (0.45, 0.55, 0.65)
HOLDS_S = (0.0, 0.12, 0.3)
CONFIRMS_S = (0.04, 0.2)
WINDOWS_S = (0.2, 0.4, 0.8)
#: How much worse than detections (count MAE, persons per frame) ``auto``'s mode may count on one tuning scene:
#: a window that counts a person 0.2-0.4 s late as they enter and leave a scene detections count almost
#: perfectly costs 0.02-0.04 there, and takes a third of the error off crowded ones.
AUTO_TOLERANCE = 0.05


def scores(footages: Sequence[Footage], policy: CountPolicy, nms: float | None, caches: dict[str, dict]
           ) -> dict[str, list[float]]:
    """MAE per rate of ``policy`` on each footage, and "mean": their mean, every scene weighing the same however
    long its video (a long easy one would otherwise choose for all)."""
    each = {f.name: [mae(f, policy, rate, nms, FLOOR, caches.setdefault(f.name, {})) for rate in RATES]
            for f in footages}
    each["mean"] = [statistics.fmean(each[f.name][i] for f in footages) for i in range(len(RATES))]
    return each


def _mode(name: str, threshold: float, hold_s: float = 0.0, confirm_s: float = 0.04, window_s: float = 0.0
          ) -> CountMode:
    return CountMode(name, threshold, TrackerParams(high_threshold=threshold, confirm_s=confirm_s), hold_s, window_s)


def tune(footages: Sequence[Footage], with_nms: bool) -> tuple[float | None, dict[str, CountMode], list]:
    """NMS, each mode's best parameters (MAE, mean over the footages and the rates) and ``auto``'s mode per rate,
    on ``footages`` (``auto_modes``)."""
    caches: dict[str, dict] = {}

    def score(mode: CountMode, nms: float | None) -> dict[str, list[float]]:
        return scores(footages, fixed(mode), nms, caches)

    grid = [(_mode("detections", t), nms) for t in THRESHOLDS for nms in (NMS if with_nms else (None,))]
    tried_detections = {candidate: score(*candidate) for candidate in grid}
    best_detections, nms = min(tried_detections, key=lambda c: sum(tried_detections[c]["mean"]))
    modes = {"detections": best_detections}
    per_rate = {"detections": tried_detections[best_detections, nms]}
    threshold = best_detections.threshold  # smoothing and track support add to detections, at their threshold
    grids = {
        "smoothed": [_mode("smoothed", threshold, window_s=w) for w in WINDOWS_S],
        "tracks": [_mode("tracks", t, h, c) for t, h, c in itertools.product(TRACKER_THRESHOLDS, HOLDS_S, CONFIRMS_S)],
        "fused": [_mode("fused", threshold, h, window_s=w) for h, w in itertools.product(HOLDS_S, (0.0, *WINDOWS_S))],
    }
    for name, grid_of_mode in grids.items():
        tried = {mode: score(mode, nms) for mode in grid_of_mode}
        modes[name] = min(tried, key=lambda m: sum(tried[m]["mean"]))
        per_rate[name] = tried[modes[name]]
    return nms, modes, auto_modes(per_rate, [f.name for f in footages])


def auto_modes(per_rate: dict[str, dict[str, list[float]]], footages: Sequence[str]) -> list:
    """``auto``'s [lowest rate, mode] list from each mode's MAE per rate on each tuning footage and their mean: at
    each rate the lowest mean among the modes no worse than detections on any footage (``AUTO_TOLERANCE``): a
    mode that wins on average may only win on one scene."""
    auto: list = []
    for index, rate in enumerate(RATES):
        safe = [m for m in per_rate if all(per_rate[m][f][index] <= per_rate["detections"][f][index] + AUTO_TOLERANCE
                                           for f in footages)]
        name = min(safe, key=lambda m: (per_rate[m]["mean"][index], m != "detections"))
        if not auto or auto[-1][1] != name:  # from halfway (geometrically) between this rate and the one below
            auto.append([0.0 if index == 0 else round(math.sqrt(rate * RATES[index - 1]), 2), name])
    return auto


def report(footages: Sequence[Footage], nms: float | None, modes: dict[str, CountMode], auto: list
           ) -> dict[str, dict[str, dict[float, float]]]:
    """{sequence: {mode: {rate: MAE}}} of the tuned modes and ``auto`` on each (held-out) footage."""
    policies = {name: fixed(mode) for name, mode in modes.items()}
    policies["auto"] = CountPolicy(tuple((low, modes[name]) for low, name in auto))
    return {f.name: {name: {rate: mae(f, policy, rate, nms) for rate in RATES} for name, policy in policies.items()}
            for f in footages}


def calibration(settings: Settings, tune_on: Sequence[Footage], report_on: Sequence[Footage],
                split: str = "sequences") -> dict[str, Any]:
    """The calibration file's content: tuned on ``tune_on``, its evidence measured on ``report_on``. With no
    ``report_on`` the file is tuned on all of ``tune_on`` and its evidence is cross-validated: ``split``
    "sequences" reports each sequence with what the others tuned (an unseen scene), "halves" each half of every
    sequence with what the other halves of all tuned (unseen minutes of the scenes tuned on)."""
    overlap = {f.name for f in tune_on} & {f.name for f in report_on}
    if overlap:
        raise UserError(f"--report needs footage other than --tune's (both have {', '.join(sorted(overlap))})")
    with_nms = hasattr(create_detector(settings).config, "nms_threshold")
    if report_on:
        held_out = report(report_on, *tune(tune_on, with_nms))
    elif split == "halves":
        parts = [halves(f) for f in tune_on]
        held_out = {}
        for k in (0, 1):
            held_out.update(report([p[1 - k] for p in parts], *tune([p[k] for p in parts], with_nms)))
    elif len(tune_on) > 1:
        held_out = {}
        for left_out in tune_on:
            held_out.update(report([left_out], *tune([f for f in tune_on if f is not left_out], with_nms)))
    else:
        raise UserError("give --report footage, or two --tune sequences or more (each then held out in turn), "
                        "or --split halves")
    nms, modes, auto = tune(tune_on, with_nms)
    entries = {name: {"threshold": mode.threshold, "hold_s": mode.hold_s, "window_s": mode.window_s,
                      "confirm_s": mode.tracker.confirm_s} for name, mode in modes.items()}
    model = Path(settings.model)
    return {
        "format": FORMAT, "model": model.name, "sha256": fingerprint(model, settings.params),
        "tuned_on": [f.name for f in tune_on], "held_out_split": "given" if report_on else split,
        "min_box_height": settings.min_box_height,
        "rates": list(RATES),
        **({"nms_threshold": nms} if nms is not None else {}), "floor": FLOOR, "modes": entries, "auto": auto,
        "held_out": held_out,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="count-people calibrate",
        description="With --tune: choose the configured model's threshold, NMS and count modes on the --tune "
        "videos (MOTChallenge gt/gt.txt beside each) and report them on the --report videos only; --write stores "
        "them beside the model as <model>.calibration.json. Without: quantize the model to INT8 (gluoncv or "
        "onnxruntime detector), calibrating on --calibration-source (default --source), into --model-cache.",
    )
    parser.add_argument("--tune", nargs="+", type=Path, default=[], metavar="VIDEO", help="footage to tune on")
    parser.add_argument("--report", nargs="+", type=Path, default=[], metavar="VIDEO",
                        help="held-out footage every reported figure is measured on (never a --tune one); without "
                        "it, each --tune sequence is reported with what the others tuned, and the file is tuned on all")
    parser.add_argument("--split", choices=("sequences", "halves"), default="sequences",
                        help="without --report: hold out each sequence in turn (default), or each half in time of "
                        "every sequence")
    parser.add_argument("--write", action="store_true", help="store the calibration beside the model file")
    add_settings_arguments(parser)
    return parser


def calibrate_counting(settings: Settings, tune_on: Sequence[Path], report_on: Sequence[Path], split: str,
                       write: bool) -> int:
    candidates = candidate_settings(settings)
    footages = {path: detect(candidates, path) for path in dict.fromkeys([*tune_on, *report_on])}
    result = calibration(settings, [footages[p] for p in tune_on], [footages[p] for p in report_on], split)
    print(json.dumps({k: v for k, v in result.items() if k != "held_out"}))
    print(f"held out (tuned on {', '.join(result['tuned_on'])}):")
    print(format_table(result["held_out"]))
    if write:
        if not Path(settings.model).is_file():
            raise UserError(f"--write stores the calibration beside the model file; {settings.model!r} is not a file")
        target = beside(settings.model)
        target.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"written to {target}")
    return 0


def main(argv: Sequence[str]) -> int:
    args, settings = parse_with_settings(build_parser(), argv)
    if args.tune:
        return calibrate_counting(settings, args.tune, args.report, args.split, args.write)
    fp32 = create_detector(settings.updated({"precision": "fp32"}))
    fp32.load()  # the cache key needs the loaded model (input size, runtime)
    entry_of = getattr(fp32, "int8_entry", None)
    if entry_of is None:
        raise UserError(f"--detector {settings.detector} runs fp32 only; INT8 needs --detector gluoncv or onnxruntime")
    entry = entry_of()
    shutil.rmtree(entry, ignore_errors=True)
    started = time.perf_counter()
    detector = create_detector(settings.updated({"precision": "int8"}))
    detector.load()
    if detector.precision != "int8":
        print(f"{detector.name}: INT8 could not be made here (see the warning above); the counter will run FP32")
        return 1
    print(f"{detector.name}: INT8 model in {entry} ({time.perf_counter() - started:.1f} s, calibrated on "
          f"{settings.calibration_frames} frame(s) at most from {settings.calibration_source or settings.source})")
    return 0
