#!/usr/bin/env python3
"""Grabber CPU use (percent of one core) for an emulated 1280x720 30 fps camera at several rate caps.

Starts ``rtsp-emulator`` (shared footage or test pattern) on a free loopback port, then for each cap runs
``gst-grabber`` natively, waits for frames, and samples user+system CPU time of the runner and its
``gst-launch-1.0`` child from /proc. The emulator's own CPU is not counted.

    .venv/bin/python scripts/measure_grabber_cpu.py [--caps 30 5 1] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Tuple

BIN = Path(sys.executable).parent
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared/footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_cpu_seconds(root_pid: int) -> float:
    """User+system CPU seconds of ``root_pid`` and its live descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += parents.get(pid, (0, 0.0))[1]
        todo += [child for child, (ppid, _cpu) in parents.items() if ppid == pid]
    return total


def wait_for_frame(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"measure: no frame at {path} within {timeout} s")
        time.sleep(0.05)


def measure(url: str, cap: int, seconds: float, workdir: Path) -> Tuple[float, float]:
    out = workdir / f"cap{cap}"
    env = {**os.environ, "GRABBER_RTSP_URL": url, "GRABBER_OUTPUT_DIR": str(out), "GRABBER_MAX_FPS": str(cap)}
    proc = subprocess.Popen([str(BIN / "gst-grabber")], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_frame(out / "frame.jpg", 15)
        time.sleep(2.0)  # past start-up
        cpu0, t0 = tree_cpu_seconds(proc.pid), time.monotonic()
        frames = count_frames(out / "frame.jpg", seconds)
        cpu1, t1 = tree_cpu_seconds(proc.pid), time.monotonic()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    return 100.0 * (cpu1 - cpu0) / (t1 - t0), frames / (t1 - t0)


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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caps", type=int, nargs="+", default=[30, 5, 1], help="rate caps in fps (0 = none)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per cap")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE) if DEFAULT_SOURCE.exists() else "test",
                        help="video file the emulator loops (scaled to --size), or 'test' (default: shared "
                        "TUD-Stadtmitte footage when present, else the test pattern)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
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
        print(f"stream: {args.size} {args.fps} fps H.264 from {Path(args.source).name}; {os.cpu_count()} CPUs; "
              f"{args.seconds:g} s per cap")
        print("| cap (fps) | frames written/s | grabber CPU (% of one core) |\n|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            for cap in args.caps:
                cpu, rate = measure(url, cap, args.seconds, Path(tmp))
                print(f"| {cap or 'none'} | {rate:.1f} | {cpu:.1f} |", flush=True)
    finally:
        emulator.terminate()
        emulator.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
