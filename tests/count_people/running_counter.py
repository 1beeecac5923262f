"""A real counter on real footage for the observability tests, started through the CLI like a user does.

Frames of a shared video are written into a frame file the way the grabber writes them
(temp file + rename) at a steady rate; the feeder can pause to simulate a stalled camera.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from support import REPO_ROOT, free_port, http_get, replace_frame, shared_path, wait_for

BODY_MODEL = "models/yolo-fastest/yolo-fastest-1.1_body"
FOOTAGE = "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"
CAMERA = "cam-test"
#: A vertical line through the middle and the left half as a zone, to export lines and zones too.
LINES = {"middle": [[0.5, 0.0], [0.5, 1.0]]}
ZONES = {"left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}


class FrameFeeder:
    """Writes the footage's frames (decoded and encoded once) into ``path`` at ``fps`` until stopped."""

    def __init__(self, path: Path, fps: float = 10.0, frames: int = 120, grain: int = 0) -> None:
        """``grain``: fixed noise of up to +-grain added to every pixel, a texture that shows whether the
        pixels a viewer sees were pixelated (the privacy tests)."""
        capture = cv2.VideoCapture(str(shared_path(FOOTAGE)))
        noise = None
        self.jpegs = []
        while len(self.jpegs) < frames:
            ok, image = capture.read()
            if not ok:
                break
            if grain:
                noise = np.random.default_rng(1).integers(-grain, grain + 1, image.shape) if noise is None else noise
                image = np.clip(image + noise, 0, 255).astype(np.uint8)
            self.jpegs.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95 if grain else 85])[1].tobytes())
        capture.release()
        assert self.jpegs, f"no frames decoded from {FOOTAGE}"
        self.path, self.fps, self.written = path, fps, 0
        self.running = threading.Event()
        self.running.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0 / self.fps):
            if self.running.is_set():
                replace_frame(self.path, self.jpegs[self.written % len(self.jpegs)])
                self.written += 1

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def body_model_flags() -> list[str]:
    cfg = shared_path(BODY_MODEL + ".cfg")
    return ["--detector", "opencv", "--model", str(cfg), "--params", str(cfg.with_suffix(".weights")),
            "--labels", str(cfg.parent / "body.names"), "--class-alias", "body=person", "--threshold", "0.4"]


class RunningCounter:
    """``count-people`` in a subprocess on the feeder's frame file, with its HTTP port open."""

    def __init__(self, workdir: Path, *extra: str, port: int | None = None, frames: int = 120, grain: int = 0) -> None:
        self.feeder = FrameFeeder(workdir / "frame.jpg", frames=frames, grain=grain)
        self.port = port or free_port()
        self.log = workdir / "counter.log"
        args = [sys.executable, "-m", "count_people", "--source", str(self.feeder.path), *body_model_flags(),
                "--http-port", str(self.port), "--http-host", "127.0.0.1", "--camera-id", CAMERA,
                "--lines", json.dumps(LINES), "--zones", json.dumps(ZONES), "--tracker-confirm-s", "0",
                "--state-file", str(workdir / "line-counts.json"), "--stats-interval", "0", *extra]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "components")}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=workdir)
        wait_for(lambda: self._alive() and self.get("/healthz")[0] in (200, 503), 60, 0.2,
                 f"counter HTTP port {self.port} (log: {self.log})")

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"counter exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
        return True

    def get(self, path: str) -> tuple[int, bytes]:
        return http_get(self.port, path)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics: (name, sorted labels) -> value."""
        status, body = self.get("/metrics")
        assert status == 200, f"/metrics answered {status}"
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body.decode()) for s in family.samples}

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` with ``labels`` (camera defaults to the test camera), None if absent."""
        wanted = tuple(sorted({"camera": CAMERA, **labels}.items()))
        return self.metrics().get((name, wanted))

    def stop(self) -> None:
        self.feeder.stop()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
