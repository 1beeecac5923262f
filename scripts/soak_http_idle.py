#!/usr/bin/env python3
"""Idle HTTP connections against a real counter under ``ulimit -n 1024`` (issue 15, defect 1).

Starts ``count-people`` (the tests' RunningCounter: real footage, yolo-fastest body model) with
its descriptor limit at 1024, measures its frame rate, then opens ``--connections`` sockets that
each send a partial request and stay open for ``--seconds`` while /healthz is polled. Prints the
frame rate before and during, the slowest /healthz answer, and whether the counter survived.
Needs ../shared.

    .venv/bin/python scripts/soak_http_idle.py --connections 2000 --seconds 60
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "count_people")]

from running_counter import RunningCounter  # noqa: E402

PARTIAL_REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n"  # no blank line: the request never completes


def frames(counter: RunningCounter) -> float:
    return counter.value("people_counter_inference_seconds_count") or 0.0


def rate(counter: RunningCounter, seconds: float) -> float:
    start, began = frames(counter), time.monotonic()
    time.sleep(seconds)
    return (frames(counter) - start) / (time.monotonic() - began)


class HealthPoller:
    """Asks /healthz twice a second from its own thread, from the first idle connection to the end."""

    def __init__(self, counter: RunningCounter) -> None:
        self.counter, self.slowest, self.failures, self.asked = counter, 0.0, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            asked = time.monotonic()
            status, _ = self.counter.get("/healthz")
            self.slowest = max(self.slowest, time.monotonic() - asked)
            self.failures += status not in (200, 503)  # 503 = unhealthy but answering
            self.asked += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--counter-nofile", type=int, default=1024, help="the counter's ulimit -n")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with tempfile.TemporaryDirectory() as workdir:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.counter_nofile, hard))  # inherited by the counter
        counter = RunningCounter(Path(workdir))
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this script holds the client sockets
        sockets: list[socket.socket] = []
        try:
            time.sleep(5)  # model loaded, rate settled
            before = rate(counter, 10)
            opened_at = time.monotonic()
            health = HealthPoller(counter)
            refused = 0
            for _ in range(args.connections):
                try:
                    sock = socket.create_connection(("127.0.0.1", counter.port), timeout=5)
                    sock.sendall(PARTIAL_REQUEST)
                    sockets.append(sock)
                except OSError:
                    refused += 1
            print(f"opened {len(sockets)} idle connections ({refused} refused) in "
                  f"{time.monotonic() - opened_at:.1f} s", flush=True)
            start_frames, began = frames(counter), time.monotonic()
            time.sleep(args.seconds)
            during = (frames(counter) - start_frames) / (time.monotonic() - began)
            health.stop.set()
            health.thread.join(15)
            slowest, failures = health.slowest, health.failures
            alive = counter.process.poll() is None
            log = counter.log.read_text()
            print(f"frame rate before {before:.1f} fps, during {during:.1f} fps; slowest of {health.asked} /healthz "
                  f"(opening and holding) {slowest * 1000:.0f} ms, {failures} failed; counter alive: {alive}; "
                  f"tracebacks in its log: {log.count('Traceback')};"
                  f" 'Too many open files' in its log: {log.count('Too many open files')}")
            ok = alive and failures == 0 and slowest < 1.0 and during >= 0.9 * before and "Traceback" not in log
        finally:
            for sock in sockets:
                sock.close()
            counter.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
