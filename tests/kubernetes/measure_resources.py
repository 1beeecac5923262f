"""Measure what the grabber and the counter use when run as the local stack runs them (not a test).

The figures behind the requests and limits in docker/kubernetes/people-counter.yaml: the stack runs
camera emulator -> grabber -> frame file -> counter, and once counts flow this samples each process tree
(the grabber with its gst-launch children, the counter, the emulator) every second: resident memory from
/proc and CPU seconds.
    .venv/bin/python tests/kubernetes/measure_resources.py VIDEO [--seconds 60] [count-people options]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gst_grabber.cpu import descendants, tree_cpu_seconds
from local_stack.stack import LocalStack, StackOptions


def tree_rss_mib(root: int) -> float:
    """Resident memory of ``root`` and its descendants (VmRSS, MiB)."""
    total = 0
    for pid in descendants(root):
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="video file served by the camera emulator")
    parser.add_argument("--seconds", type=int, default=60, help="sampling window once counts flow")
    parser.add_argument("--grabber-fps", type=int, default=5, help="GRABBER_MAX_FPS (docker/compose.yaml: 5)")
    args, counter_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as workdir:
        stack = LocalStack(StackOptions([args.video], counter_args, args.grabber_fps, workdir=Path(workdir)))
        try:
            stack.start()
            deadline = time.monotonic() + 300
            while "FPS --" not in (stack.workdir / "counter.log").read_text():
                stack.check()  # a counter that died says so; its first stats line says counts flow
                if time.monotonic() > deadline:
                    raise SystemExit("no counts after 300 s; see " + str(stack.workdir))
                time.sleep(1)
            pids = {name: service.process.pid for name, service in stack.services.items()
                    if name in ("grabber", "counter") or name.startswith("emulator")}
            rss: dict[str, list[float]] = {name: [] for name in pids}
            cpu_start = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
            started = time.monotonic()
            for _ in range(args.seconds):
                time.sleep(1)
                stack.check()
                for name, pid in pids.items():
                    rss[name].append(tree_rss_mib(pid))
            elapsed = time.monotonic() - started
            for name, pid in pids.items():
                cores = (tree_cpu_seconds(pid) - cpu_start[name]) / elapsed
                print(f"{name}: CPU {cores * 1000:.0f} m (mean of {elapsed:.0f} s), RSS median "
                      f"{statistics.median(rss[name]):.0f} MiB, max {max(rss[name]):.0f} MiB")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
