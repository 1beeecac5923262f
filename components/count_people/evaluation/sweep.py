"""Count accuracy at the frame rates users deploy: every sequence subsampled to 1, 2, 5, 10 and 25 fps.

The detector runs once per sequence at a low ``floor`` threshold without NMS; every setting of
threshold, NMS and count mode is then replayed on those candidates (``select`` is the detectors' own
NMS, ``FrameCounter`` the counter's own counting), so a sweep costs one detector pass per sequence.

Subsampling: at rate r a sequence recorded at F fps is read every F/r frames (not always a whole
number: 2 fps of 25 fps alternates 12 and 13 frames, as a real scheduler would), starting at each
phase 0, 1, ... up to the step in turn, so every frame is evaluated at each rate (a few twice where
the step is not whole) and the 1 fps figure of a 71-frame sequence is not three frames' luck. Each
phase is a fresh counter (its start-up counts).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.base import Detection
from count_people.detectors.yolo import select
from count_people.errors import UserError
from count_people.evaluation.ground_truth import image_size, load_ground_truth, scale_to_frame
from count_people.frames import VideoFile
from count_people.tracking.counting import MODES, CountMode, CountPolicy, FrameCounter, count_policy

RATES = (1.0, 2.0, 5.0, 10.0, 25.0)
#: Detector threshold of the cached candidates: below every threshold a sweep tries.
FLOOR = 0.1


@dataclass
class Footage:
    """One labelled sequence: the candidates of every frame (``detect``) and the true boxes per frame."""

    name: str
    fps: float
    candidates: list[list[Detection]]
    truth: list[int]


def halves(footage: Footage) -> tuple[Footage, Footage]:
    """The first and second half of a sequence in time, to tune on one and report on the other."""
    middle = len(footage.truth) // 2
    return (Footage(f"{footage.name} first half", footage.fps, footage.candidates[:middle], footage.truth[:middle]),
            Footage(f"{footage.name} second half", footage.fps, footage.candidates[middle:], footage.truth[middle:]))


def candidate_settings(settings: Settings) -> Settings:
    """``settings`` keeping every box down to ``FLOOR`` and before NMS, for a sweep to replay NMS and thresholds."""
    changes: dict[str, float] = {"threshold": FLOOR}
    if hasattr(create_detector(settings).config, "nms_threshold"):
        changes["nms_threshold"] = 1.0
    return settings.updated(changes)


def detect(settings: Settings, video: Path, gt: Path | None = None) -> Footage:
    """Run the detector of ``settings`` over ``video`` once; the boxes of ``settings.classes[0]`` per frame."""
    gt = gt or video.parent / "gt" / "gt.txt"
    seqinfo = gt.parent.parent / "seqinfo.ini"
    truth = load_ground_truth(gt)
    detector = create_detector(settings.updated({"source": str(video)}))
    detector.load()
    detector.check_classes(settings.classes)
    source = VideoFile(str(video))
    if source.fps <= 0:
        source.close()
        raise UserError(f"{video}: the video does not say its frame rate; it is needed to subsample it")
    candidates, counts, stop = [], [], threading.Event()
    scaled = None
    try:
        while (frame := source.next_frame(stop)) is not None:
            if scaled is None:
                height, width = frame.image.shape[:2]
                scaled = scale_to_frame(truth, image_size(seqinfo) if seqinfo.is_file() else None, (width, height))
            candidates.append([d for d in detector.detect(frame.image) if d.label == settings.classes[0]])
            counts.append(len(scaled.get(frame.index + 1, ())))
    finally:
        source.close()
    if not candidates:
        raise UserError(f"no frames could be read from {str(video)!r}")
    return Footage(video.stem, source.fps, candidates, counts)


def with_nms(candidates: Sequence[Detection], nms: float | None) -> list[Detection]:
    """``candidates`` after the detectors' per-class NMS at IoU ``nms`` (None: as they are)."""
    if nms is None or not candidates:
        return list(candidates)
    boxes = np.array([d.box for d in candidates], np.float32)
    scores = np.array([d.score for d in candidates], np.float32)
    keep = select(boxes, scores, np.zeros(len(candidates), np.int32), nms)
    return [candidates[i] for i in keep]


def phases(frames: int, native: float, rate: float) -> list[list[int]]:
    """Frame indices read at ``rate`` from a ``native`` fps recording, one list per starting phase."""
    step = max(native / rate, 1.0)
    runs = []
    for phase in range(math.ceil(step)):
        run, k = [], 0
        while (index := phase + round(k * step)) < frames:
            run.append(index)
            k += 1
        runs.append(run)
    return runs


def mae(footage: Footage, policy: CountPolicy, rate: float, nms: float | None, floor: float = FLOOR,
        cache: dict[tuple[float | None, float], list[list[Detection]]] | None = None) -> float:
    """Mean absolute count error of ``policy`` on ``footage`` read at ``rate`` (every phase, every frame once),
    the detector's boxes taken down to ``floor`` after NMS at ``nms``."""
    cache = {} if cache is None else cache
    if (nms, floor) not in cache:
        cache[nms, floor] = [with_nms([d for d in c if d.score >= floor], nms) for c in footage.candidates]
    candidates = cache[nms, floor]
    error, frames = 0, 0
    for run in phases(len(candidates), footage.fps, rate):
        counter = FrameCounter(policy)
        for index in run:
            counted = counter.count(candidates[index], index / footage.fps)
            error += abs(sum(counted.values()) - footage.truth[index])
            frames += 1
    return error / frames


def fixed(mode: CountMode) -> CountPolicy:
    return CountPolicy(((0.0, mode),))


def table(settings: Settings, footage: Footage, rates: Sequence[float] = RATES) -> dict[str, dict[float, float]]:
    """MAE per count mode (``count_from`` of every kind, with this model's calibration) and rate on ``footage``,
    whose candidates came from the detector as ``settings`` configures it for tracking (the floor threshold)."""
    return {mode: {rate: mae(footage, count_policy(settings.updated({"count_from": mode})), rate, None, 0.0)
                   for rate in rates}
            for mode in (*MODES, "auto")}


def format_table(tables: dict[str, dict[str, dict[float, float]]]) -> str:
    """Markdown: one row per sequence and rate, one column per count mode."""
    modes = list(next(iter(tables.values())))
    lines = ["| sequence | fps | " + " | ".join(modes) + " |", "|---|---|" + "---|" * len(modes)]
    for name, by_mode in tables.items():
        for rate in by_mode[modes[0]]:
            lines.append(f"| {name} | {rate:g} | " + " | ".join(f"{by_mode[m][rate]:.3f}" for m in modes) + " |")
    return "\n".join(lines)
