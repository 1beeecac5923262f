"""``count-people calibrate``: make (or remake) the cached INT8 model from a video or an image folder.

The counter also calibrates by itself at its first start with ``precision: int8``, on frames of
its source; this command does it ahead of time, on chosen footage, so the device starts in seconds.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence

from count_people.arguments import add_settings_arguments, parse_with_settings
from count_people.detectors import create_detector
from count_people.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="count-people calibrate",
        description="Quantize the configured model to INT8 (gluoncv or onnxruntime detector), calibrating on "
        "--calibration-source (a video or image folder; default --source), and store it in --model-cache, "
        "replacing an earlier calibration of the same model. The counter then loads it with --precision int8.",
    )
    add_settings_arguments(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    _, settings = parse_with_settings(build_parser(), argv)
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
