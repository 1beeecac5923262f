#!/usr/bin/env python3
"""What analytics cost the counter: frames per second with every analytics feature on vs off, same run.

Frames of a real video are decoded into memory once and one loaded detector (the shared person-only
Yolo-Fastest) is shared by two counting loops that differ only in analytics. ``off``: tracking with a
line and two zones, as before analytics. ``on``: the same plus an area on the line, a daily reset in
Europe/Berlin, dwell time and occupancy and dwell thresholds on both zones, and the live view bound beyond
loopback (people pixelated). Both serve their live view to a viewer fetching /frame.jpg ten times a
second (the privacy work happens on the HTTP thread, competing for the same CPU). Rounds alternate so
both see the same machine load; the ratio is the median of the rounds' on/off ratios. Also prints what
pixelating the people costs per served frame.

    .venv/bin/python scripts/measure_analytics.py [--rounds 3] [--frames 179]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import cv2
import numpy as np
from count_people.analytics.hook import Analytics
from count_people.comms.stdout import StdoutPublisher
from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.frames.base import Frame
from count_people.loop import CountingLoop
from count_people.observability.draw import annotate
from count_people.observability.hub import Observability
from count_people.observability.privacy import protect
from count_people.tracking.hook import create_tracking_hooks
from local_stack.services import free_port

SHARED = Path(__file__).resolve().parents[2] / "shared"
VIDEO = SHARED / "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"
BODY = SHARED / "models/yolo-fastest/yolo-fastest-1.1_body"
TOKEN = "measure"
BASE = {
    "detector": "opencv", "model": f"{BODY}.cfg", "params": f"{BODY}.weights",
    "labels": str(BODY.parent / "body.names"), "class_alias": "body=person", "threshold": 0.4, "state_file": "",
    "stats_interval": 0, "http_token": TOKEN,
    "lines": {"middle": [[0.5, 1.0], [0.5, 0.0]]},
    "zones": {"left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "right": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
}
ANALYTICS = {
    "areas": {"hall": {"doors": ["middle"], "max_occupancy": 3}}, "reset_at": "04:00", "timezone": "Europe/Berlin",
    "zones": {name: {"polygon": polygon, "max_occupancy": 2, "max_dwell_s": 2.0}
              for name, polygon in BASE["zones"].items()},
    "event_min_duration": 0.5, "http_host": "0.0.0.0",
}


def decoded(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count and (image := capture.read()[1]) is not None:
        frames.append(image)
    capture.release()
    return frames


class Viewer:
    """Fetches /frame.jpg ten times a second, as an open live view does."""

    def __init__(self, port: int) -> None:
        self.request = urllib.request.Request(f"http://127.0.0.1:{port}/frame.jpg",
                                              headers={"Authorization": f"Bearer {TOKEN}"})
        self.stop = threading.Event()
        self.fetched = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                urllib.request.urlopen(self.request, timeout=5).read()
                self.fetched += 1
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def counter(settings: Settings, detector: Any, analytics: bool) -> tuple[CountingLoop, Callable[[], None]]:
    """A counting loop with its hooks, and how to close them."""
    hub = Observability(settings)
    services: list[Any] = [hub]
    source = SimpleNamespace(skipped=0, close=lambda: None)
    loop = CountingLoop(settings, source=source, detector=detector,
                        publisher=StdoutPublisher(open(os.devnull, "w")))  # noqa: SIM115 - closed with the loop
    if analytics:
        services.append(Analytics(settings))
        loop.hooks.extend(services[-1].create_hooks(loop))
    else:
        loop.hooks.extend(create_tracking_hooks(loop))
    loop.hooks.extend(hub.create_hooks(loop))
    return loop, lambda: [service.close() for service in services]


def run(loop: CountingLoop, frames: list[np.ndarray], start: int) -> float:
    started = time.perf_counter()
    for index, image in enumerate(frames):
        loop.process(Frame(image, time.time(), 0.0, start + index))
    return len(frames) / (time.perf_counter() - started)


def privacy_cost(frames: list[np.ndarray], detector: Any) -> dict[str, float]:
    """Milliseconds per served frame: pixelating the people, and drawing plus JPEG encoding for comparison."""
    blur, serve = [], []
    for image in frames:
        detections = detector.detect(image)
        started = time.perf_counter()
        hidden = protect(image, detections, "blur_people")
        blur.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        cv2.imencode(".jpg", annotate(hidden, {"boxes": []}), [cv2.IMWRITE_JPEG_QUALITY, 80])
        serve.append((time.perf_counter() - started) * 1000)
    return {"pixelate_ms_mean": statistics.mean(blur), "pixelate_ms_p90": float(np.percentile(blur, 90)),
            "draw_encode_ms_mean": statistics.mean(serve)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=179)
    args = parser.parse_args()
    frames = decoded(args.frames)
    off_settings = Settings().updated({**BASE, "http_port": free_port()})
    on_settings = off_settings.updated({**ANALYTICS, "http_port": free_port()})
    detector = create_detector(off_settings)
    detector.load()
    loops = {"off": counter(off_settings, detector, False), "on": counter(on_settings, detector, True)}
    viewers = {"off": Viewer(off_settings.http_port), "on": Viewer(on_settings.http_port)}
    fps: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for round_ in range(args.rounds):
            for mode in (("off", "on") if round_ % 2 == 0 else ("on", "off")):
                fps[mode].append(run(loops[mode][0], frames, round_ * len(frames)))
    finally:
        for viewer in viewers.values():
            viewer.close()
        for _, close in loops.values():
            close()
    result: dict[str, Any] = {mode: round(statistics.median(values), 2) for mode, values in fps.items()}
    # The median of each round's ratio: a neighbour's load changes between rounds more than within one.
    ratios = [on / off for on, off in zip(fps["on"], fps["off"])]
    result.update(ratio=round(statistics.median(ratios), 3), rounds={k: [round(v, 2) for v in f]
                                                                      for k, f in fps.items()},
                  load_average=os.getloadavg()[0],
                  frames_fetched={mode: viewer.fetched for mode, viewer in viewers.items()},
                  **{k: round(v, 2) for k, v in privacy_cost(frames, detector).items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
