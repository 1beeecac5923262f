"""``count-people evaluate``: run the configured detector over footage with ground truth."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from count_people.arguments import add_settings_arguments, parse_with_settings
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.errors import UserError
from count_people.evaluation.accuracy import CountAccuracy
from count_people.evaluation.crossings import CrossingEvaluation, format_crossings
from count_people.evaluation.dwell import DwellEvaluation, format_dwell
from count_people.evaluation.ground_truth import frame_rate, image_size, load_ground_truth, load_tracks, scale_to_frame
from count_people.evaluation.sweep import RATES, detect, format_table, table
from count_people.frames import ImageFolder, VideoFile, open_source
from count_people.tracking.counting import FrameCounter, count_policy

log = logging.getLogger("count_people.evaluation")


def evaluate(settings: Settings, gt: Path, seqinfo: Path | None, every: int = 1,
             iou_threshold: float = 0.5) -> dict[str, Any]:
    """Count error and precision/recall of ``settings.classes[0]`` on every ``every``-th frame.

    Video frame i (from 0) is ground-truth frame i + 1, as in MOTChallenge. With ``count_from`` other than
    detections the counted boxes are those the counter publishes (``FrameCounter``), each frame timed by its
    place in the video.
    """
    truth = load_ground_truth(gt)
    truth_size = image_size(seqinfo) if seqinfo else None
    source = open_source(settings)
    if not isinstance(source, (VideoFile, ImageFolder)):
        source.close()
        raise UserError(f"evaluate needs a video file or a folder of images as --source, not {settings.source!r}")
    detector = create_detector(settings)
    detector.load()
    detector.check_classes(settings.classes)
    label = settings.classes[0]
    accuracy = CountAccuracy(iou_threshold)
    crossings = CrossingEvaluation(settings, load_tracks(gt)) if settings.lines else None
    fps = footage_fps(source, seqinfo)
    dwell = DwellEvaluation(settings, load_tracks(gt), fps) if settings.zones else None
    counter = FrameCounter(count_policy(settings)) if settings.count_from != "detections" else None
    no_boxes = np.zeros((0, 4), np.float32)
    stop = threading.Event()
    scaled: dict[int, np.ndarray] | None = None
    started = time.perf_counter()
    try:
        while (frame := source.next_frame(stop)) is not None:
            if frame.index % every:
                continue
            if scaled is None:
                height, width = frame.image.shape[:2]
                scaled = scale_to_frame(truth, truth_size, (width, height))
            detections = detector.detect(frame.image)
            if crossings is not None:
                crossings.add(frame, detections)
            if dwell is not None:
                dwell.add(frame, detections)
            count = None
            if counter is not None:
                count = counter.count(detections, frame.index / fps)[label]
                detections = counter.boxes
            boxes = [d.box for d in detections if d.label == label]
            accuracy.add(np.array(boxes, np.float32).reshape(-1, 4), scaled.get(frame.index + 1, no_boxes), count)
    finally:
        source.close()
    elapsed = time.perf_counter() - started
    if accuracy.frames == 0:
        raise UserError(f"no frames could be read from {settings.source!r}")
    result: dict[str, Any] = {**accuracy.result(), "fps": accuracy.frames / elapsed}
    if crossings is not None:
        result["crossings"] = crossings.result(truth_size or (width, height), label)
    if dwell is not None:
        result["dwell"] = dwell.result(truth_size or (width, height))
    return result


def footage_fps(source: VideoFile | ImageFolder, seqinfo: Path | None) -> float:
    """Frames per second of the footage, for dwell times in its seconds: seqinfo.ini's, else the video's."""
    fps = (frame_rate(seqinfo) if seqinfo else None) or getattr(source, "fps", 0.0)
    if not fps:
        raise UserError("dwell times need the footage's frame rate: give --seqinfo with frameRate, or a video file")
    return fps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="count-people evaluate",
        description="Measure counting accuracy of the configured detector on a video (or image folder, "
        "--source) with MOTChallenge ground truth: per-frame count MAE/RMSE, and detection precision/recall "
        "at an IoU threshold. fps is evaluated frames per second of wall time (decoding included). With --lines, "
        "also crossings per line and direction counted by the tracker against those of the ground-truth tracks; "
        "with --zones, dwell times per zone (count, mean, histogram in --dwell-buckets) against those of the "
        "ground-truth tracks, and the error of the mean and of the histogram.",
    )
    parser.add_argument("--gt", type=Path, help="MOTChallenge gt.txt (default: gt/gt.txt beside the source)")
    parser.add_argument("--seqinfo", type=Path,
                        help="seqinfo.ini giving the ground truth's image size, to scale boxes to a video of "
                        "another resolution (default: seqinfo.ini beside the gt folder, if present)")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="evaluate every N-th frame (default: 1)")
    parser.add_argument("--rates", nargs="?", const=",".join(f"{r:g}" for r in RATES), metavar="FPS,...",
                        help="instead: count MAE per count mode (detections, tracks, fused, auto) at each of these "
                        "frame rates, the video subsampled from every starting frame (default with no value: "
                        "1,2,5,10,25); the detector runs once")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU for a detection to match (default: 0.5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")
    add_settings_arguments(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    args, settings = parse_with_settings(build_parser(), argv)
    if args.every < 1 or not 0 < args.iou <= 1:
        raise UserError("--every must be at least 1 and --iou in (0, 1]")
    gt = args.gt or Path(settings.source).parent / "gt" / "gt.txt"
    seqinfo = args.seqinfo or gt.parent.parent / "seqinfo.ini"
    if args.seqinfo is not None and not seqinfo.is_file():
        raise UserError(f"seqinfo file {str(seqinfo)!r} does not exist")
    if args.rates:
        try:
            rates = [float(r) for r in args.rates.split(",")]
        except ValueError:
            raise UserError(f"--rates: expected frame rates like 1,5,25, got {args.rates!r}") from None
        footage = detect(settings.updated({"count_from": "auto"}), Path(settings.source), gt)
        tables = {footage.name: table(settings, footage, rates)}
        print(json.dumps(tables) if args.json else format_table(tables))
        return 0
    result = evaluate(settings, gt, seqinfo if seqinfo.is_file() else None, args.every, args.iou)
    if args.json:
        print(json.dumps({key: value if key in ("crossings", "dwell") else round(value, 4)
                          for key, value in result.items()}))
    else:
        print(
            f"{Path(settings.source).name}: {result['frames']} frames, count MAE {result['mae']:.3f}, "
            f"RMSE {result['rmse']:.3f}, mean true {result['mean_true']:.2f}, mean predicted "
            f"{result['mean_predicted']:.2f}, precision {result['precision']:.3f}, recall {result['recall']:.3f} "
            f"at IoU {args.iou}, {result['fps']:.1f} fps"
        )
        if "crossings" in result:
            print(format_crossings(result["crossings"]))
        if "dwell" in result:
            print(format_dwell(result["dwell"]))
    return 0
