#!/usr/bin/env python3
"""Would decoding and pre-processing the next frame during the current forward pass raise fps?

Frames of a real video are JPEG-encoded in memory first (the grabber's hand-off format). Then, in
alternating rounds so both see the same machine load: ``sequential`` decodes, prepares, forwards
and post-processes each frame in turn (the counter's loop); ``overlapped`` decodes and prepares
frame i+1 in a second thread while frame i is forwarded (OpenCV, ONNX Runtime and MXNet release the
GIL). Prints frames per second of both and the gain.

    .venv/bin/python scripts/measure_overlap.py [--settings JSON] [--frames 100] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import statistics
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.base import StagedDetector

SHARED = Path(__file__).resolve().parents[2] / "shared"
VIDEO = SHARED / "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"
BODY = SHARED / "models/yolo-fastest/yolo-fastest-1.1_body"


def jpegs(video: Path, count: int) -> list[bytes]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    return frames


def sequential(detector: StagedDetector, frames: list[bytes]) -> float:
    started = time.perf_counter()
    for data in frames:
        inputs, context = detector.prepare(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        detector.postprocess(detector.forward(inputs), context)
    return len(frames) / (time.perf_counter() - started)


def overlapped(detector: StagedDetector, frames: list[bytes]) -> float:
    ready: queue.Queue = queue.Queue(maxsize=1)

    def produce() -> None:
        for data in frames:
            ready.put(detector.prepare(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)))
        ready.put(None)

    started = time.perf_counter()
    producer = threading.Thread(target=produce)
    producer.start()
    while (item := ready.get()) is not None:
        inputs, context = item
        detector.postprocess(detector.forward(inputs), context)
    producer.join()
    return len(frames) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default=json.dumps({"detector": "opencv", "model": f"{BODY}.cfg",
                                                          "params": f"{BODY}.weights"}),
                        help="JSON of detector settings (default: the shared Yolo-Fastest body model)")
    parser.add_argument("--video", default=str(VIDEO))
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    detector = create_detector(Settings().updated(json.loads(args.settings)))
    detector.load()
    frames = jpegs(Path(args.video), args.frames)
    sequential(detector, frames[:5])  # warm-up
    fps: dict[str, list[float]] = {"sequential": [], "overlapped": []}
    for _ in range(args.rounds):
        fps["sequential"].append(sequential(detector, frames))
        fps["overlapped"].append(overlapped(detector, frames))
    means = {mode: statistics.fmean(values) for mode, values in fps.items()}
    print(f"{detector.name} ({detector.precision}), {len(frames)} frames x {args.rounds} rounds: sequential "
          f"{means['sequential']:.1f} fps, overlapped {means['overlapped']:.1f} fps "
          f"({means['overlapped'] / means['sequential'] - 1:+.1%}); rounds {json.dumps(fps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
