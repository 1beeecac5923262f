"""``count-people bench``: forward-only vs end-to-end time per frame, and where the time goes.

End to end means the production path: a JPEG replaced atomically in a frame file (as the
grabber does; writing it is the grabber's cost and not timed), read and decoded by
``LatestFrameFile``, detected, turned into a message and published by the ``CountingLoop``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from count_people.arguments import add_settings_arguments, parse_with_settings
from count_people.comms.stdout import StdoutPublisher
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.base import Detection, Detector, StagedDetector
from count_people.errors import UserError
from count_people.frames import LatestFrameFile
from count_people.loop import CountingLoop

STAGES = ("read_decode", "preprocess", "forward", "postprocess", "publish")


class StageTimer(Detector):
    """Runs a staged detector's stages exactly as its ``detect`` does, noting each one's time (ms)."""

    def __init__(self, inner: StagedDetector) -> None:
        super().__init__(inner.config)
        self.inner = inner
        self.last: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def class_names(self) -> Sequence[str]:
        return self.inner.class_names

    def load(self) -> None:
        self.inner.load()

    def detect(self, image: np.ndarray) -> list[Detection]:
        started = time.perf_counter()
        inputs, context = self.inner.prepare(image)
        prepared = time.perf_counter()
        outputs = self.inner.forward(inputs)
        forwarded = time.perf_counter()
        detections = self.inner.postprocess(outputs, context)
        self.last = ((prepared - started) * 1e3, (forwarded - prepared) * 1e3, (time.perf_counter() - forwarded) * 1e3)
        return detections


def synthetic_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A fixed frame with texture and a few person-sized blobs, for runs without footage."""
    rng = np.random.default_rng(3)
    image = cv2.resize(rng.integers(0, 255, (height // 10, width // 10, 3), dtype=np.uint8), (width, height))
    for x in range(width // 8, width, width // 4):
        cv2.rectangle(image, (x, height // 4), (x + width // 12, height * 9 // 10), (60, 70, 160), -1)
        cv2.circle(image, (x + width // 24, height // 4 - 15), 18, (140, 170, 210), -1)
    return image


def load_frame(path: str | None, size: tuple[int, int] | None) -> np.ndarray:
    """An image file, or the first frame of a video, resized to ``size`` (width, height) if given."""
    if path is None:
        return synthetic_frame(*(size or (640, 480)))
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        capture = cv2.VideoCapture(path)
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise UserError(f"cannot read an image or a video frame from {path!r}")
    return image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _mean_ms(samples: Sequence[float]) -> float:
    return round(statistics.fmean(samples), 3)


def benchmark(settings: Settings, image: np.ndarray, frames: int = 200, warmup: int = 10,
              detector: Detector | None = None) -> dict[str, Any]:
    """Forward-only and end-to-end time per frame (ms), per-stage means, fps and peak RSS.

    ``warmup`` frames go through both paths untimed first (graph set-up, caches, allocator).
    ``detector``: one already loaded from ``settings`` (to interleave runs of several; load_s is then 0).
    """
    started = time.perf_counter()
    if detector is None:
        detector = create_detector(settings)
        detector.load()
        detector.check_classes(settings.classes)
    load_s = time.perf_counter() - started
    staged = isinstance(detector, StagedDetector)

    def forward_once() -> None:
        detector.forward(inputs) if staged else detector.detect(image)

    inputs = detector.prepare(image)[0] if staged else None
    forward: list[float] = []
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise UserError("cannot encode the benchmark frame as JPEG")
    timer = StageTimer(detector) if staged else None
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    stop = threading.Event()
    samples: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "end_to_end")}
    with tempfile.TemporaryDirectory(prefix="count-people-bench-", dir=shm) as folder, \
            open(os.devnull, "w") as sink:
        path = Path(folder) / "frame.jpg"
        counter = CountingLoop(settings, source=LatestFrameFile(str(path), settings.poll_interval),
                          detector=timer or detector, publisher=StdoutPublisher(sink))
        for index in range(warmup + frames):
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(jpeg.tobytes())
            os.replace(temporary, path)  # as the grabber: readers never see a partial file
            # Forward alone, interleaved with the end-to-end frames so that both see the same machine load.
            tick = time.perf_counter()
            forward_once()
            forward_ms = (time.perf_counter() - tick) * 1e3
            tick = time.perf_counter()
            frame = counter.source.next_frame(stop)
            decoded = time.perf_counter()
            if frame is None:
                raise UserError(f"the frame file {path} could not be read back")
            counter.process(frame)
            done = time.perf_counter()
            if index < warmup:
                continue
            forward.append(forward_ms)
            samples["read_decode"].append((decoded - tick) * 1e3)
            samples["end_to_end"].append((done - tick) * 1e3)
            samples["publish"].append(counter.last_timing.publish_ms)
            if timer is not None:
                for stage, value in zip(("preprocess", "forward", "postprocess"), timer.last):
                    samples[stage].append(value)
            else:
                samples["forward"].append(counter.last_timing.inference_ms)  # detect, not split
        counter.source.close()
    forward_ms = _mean_ms(forward)
    end_to_end_ms = _mean_ms(samples["end_to_end"])
    return {
        "detector": settings.detector,
        "model": detector.name,
        "precision": detector.precision,
        "frame_size": [image.shape[1], image.shape[0]],
        "frames": frames,
        "load_s": round(load_s, 2),
        "forward_ms": forward_ms,
        "end_to_end_ms": end_to_end_ms,
        "overhead_pct": round((end_to_end_ms - forward_ms) / forward_ms * 100, 2),
        "fps": round(1000.0 / end_to_end_ms, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages_ms": {stage: _mean_ms(samples[stage]) if samples[stage] else None for stage in STAGES},
    }


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="count-people bench",
        description="Time the configured detector on one frame: forward pass alone, and end to end through "
        "the frame file (read + decode, pre-process, forward, post-process, message + publish), with fps "
        "and peak RSS. Times are means in milliseconds per frame.",
    )
    parser.add_argument("--image", help="image or video (first frame) to use (default: a synthetic frame)")
    parser.add_argument("--size", type=_size, metavar="WxH",
                        help="resize the frame to this size (default: 640x480 synthetic, else as is)")
    parser.add_argument("--frames", type=int, default=200, help="timed frames per measurement (default: 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames first (default: 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_settings_arguments(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    args, settings = parse_with_settings(build_parser(), argv)
    if args.frames < 1 or args.warmup < 0:
        raise UserError("--frames must be at least 1 and --warmup at least 0")
    result = benchmark(settings, load_frame(args.image, args.size), args.frames, args.warmup)
    if args.json:
        print(json.dumps(result))
        return 0
    width, height = result["frame_size"]
    stages = ", ".join(f"{stage} {value:.2f}" for stage, value in result["stages_ms"].items() if value is not None)
    print(
        f"{result['detector']} {result['model']} ({result['precision']}) on {width}x{height}, "
        f"{result['frames']} frames:\n"
        f"  forward only   {result['forward_ms']:.2f} ms\n"
        f"  end to end     {result['end_to_end_ms']:.2f} ms ({result['fps']:.1f} fps, "
        f"{result['overhead_pct']:+.1f}% over forward)\n"
        f"  stages (ms)    {stages}\n"
        f"  peak RSS       {result['peak_rss_mb']:.0f} MB"
    )
    return 0
