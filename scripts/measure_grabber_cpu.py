#!/usr/bin/env python3
"""Grabber CPU use (percent of one core) for emulated 1280x720 30 fps cameras at several rate caps.

Starts ``rtsp-emulator`` (shared footage or test pattern) on a free loopback port, measures the stream's
keyframe interval (what decides keyframe-only decoding at low caps), then for each cap runs one
``gst-grabber`` natively with ``--cameras N`` cameras (all reading the emulator's one shared mount, so the
emulator encodes once), waits for frames, and samples user+system CPU time from /proc: the whole grabber
(supervisor and its ``gst-launch-1.0`` children), and each camera's child. The emulator's CPU is not counted.
``--grabber-pythonpath`` runs the grabber of another checkout (e.g. ``git worktree add`` of an earlier
commit) against the same stream, for before/after numbers.

    .venv/bin/python scripts/measure_grabber_cpu.py [--caps 30 5 1] [--seconds 20] [--cameras 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gst_grabber.config import load_config
from gst_grabber.cpu import cpu_seconds, descendants, tree_cpu_seconds
from gst_grabber.keyframes import measure_interval
from local_stack.services import free_port

BIN = Path(sys.executable).parent
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared/footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"


def wait_for_frames(paths: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(path.exists() for path in paths):
        if time.monotonic() > deadline:
            raise SystemExit(f"measure: no frames at {[str(p) for p in paths if not p.exists()]} within {timeout} s")
        time.sleep(0.05)


def measure(url: str, cap: int, cameras: int, seconds: float, workdir: Path,
            pythonpath: str | None = None) -> tuple[float, list[float], float]:
    """(grabber CPU in total, CPU of each camera's gst-launch, frames written per second per camera)."""
    out = workdir / f"cap{cap}-n{cameras}"
    out.mkdir()
    ids = [f"cam{i}" for i in range(1, cameras + 1)]
    (out / "cameras.json").write_text(json.dumps({"cameras": [{"id": c, "rtsp_url": url} for c in ids]}))
    env = {**os.environ, "GRABBER_OUTPUT_DIR": str(out), "GRABBER_MAX_FPS": str(cap)}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen([str(BIN / "gst-grabber"), "--cameras", str(out / "cameras.json")], env=env,
                            stderr=subprocess.DEVNULL)
    frames = [out / f"{c}.jpg" for c in ids]
    try:
        wait_for_frames(frames, 20)
        time.sleep(2.0)  # past start-up
        children = [pid for pid in descendants(proc.pid) if pid != proc.pid]
        cpu0, child0, t0 = tree_cpu_seconds(proc.pid), [cpu_seconds(pid) for pid in children], time.monotonic()
        written = count_frames(frames[0], seconds)
        cpu1, child1, t1 = tree_cpu_seconds(proc.pid), [cpu_seconds(pid) for pid in children], time.monotonic()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    per_camera = [100.0 * (b - a) / (t1 - t0) for a, b in zip(child0, child1)]
    return 100.0 * (cpu1 - cpu0) / (t1 - t0), per_camera, written / (t1 - t0)


def count_frames(path: Path, seconds: float) -> int:
    """Frames written in ``seconds`` (each is a new inode: multifilesink renames a temporary file)."""
    seen, count, deadline = None, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            current = path.stat().st_ino
        except OSError:
            current = seen
        if current != seen:
            seen, count = current, count + 1
        time.sleep(0.004)
    return max(0, count - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caps", type=int, nargs="+", default=[30, 5, 1], help="rate caps in fps (0 = none)")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1], help="cameras of one grabber (e.g. 1 2 4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per cap")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE) if DEFAULT_SOURCE.exists() else "test",
                        help="video file the emulator loops (scaled to --size), or 'test' (default: shared "
                        "TUD-Stadtmitte footage when present, else the test pattern)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--grabber-pythonpath", help="PYTHONPATH of the measured gst-grabber (another checkout's "
                        "components folder)")
    args = parser.parse_args(argv)
    port = free_port()
    emulator = subprocess.Popen(
        [str(BIN / "rtsp-emulator"), args.source, "--port", str(port), "--size", args.size, "--fps", str(args.fps),
         "--bitrate-kbps", "4000"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        if "serving" not in (emulator.stdout.readline() or ""):
            raise SystemExit("measure: rtsp-emulator did not start")
        url = f"rtsp://127.0.0.1:{port}/cam1"
        interval = measure_interval(load_config([], {"GRABBER_RTSP_URL": url}), timeout=15)
        print(f"stream: {args.size} {args.fps} fps H.264 from {Path(args.source).name}, keyframe interval "
              f"{'unknown' if interval is None else f'{interval:.2f} s'}; {os.cpu_count()} CPUs; "
              f"{args.seconds:g} s per cap; grabber from {args.grabber_pythonpath or 'this checkout'}")
        print("| cap (fps) | cameras | frames written/s per camera | grabber CPU, all cameras (% of one core) | "
              "per camera's gst-launch: mean (min-max) |\n|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            for cap in args.caps:
                for cameras in args.cameras:
                    total, per_camera, rate = measure(url, cap, cameras, args.seconds, Path(tmp),
                                                      args.grabber_pythonpath)
                    spread = f"{sum(per_camera) / len(per_camera):.1f} ({min(per_camera):.1f}-{max(per_camera):.1f})"
                    print(f"| {cap or 'none'} | {cameras} | {rate:.1f} | {total:.1f} | {spread} |", flush=True)
    finally:
        emulator.terminate()
        emulator.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
