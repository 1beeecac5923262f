#!/usr/bin/env python3
"""Latency and throughput of the whole local chain (emulator -> grabber -> counter -> IPC -> MQTT).

Runs the chain for --seconds and prints counts per second, frame age at detection, end-to-end
latency from frame write (frame file mtime) to MQTT arrival (p50/p95), and each process's CPU use.

    .venv/bin/python scripts/measure_latency.py VIDEO [count-people options] [--seconds 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from local_stack.cli import subscribe
from local_stack.stack import LocalStack, StackOptions


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("video")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds ignored after the first message")
    parser.add_argument("--grabber-fps", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args, counter_args = parser.parse_known_args()

    arrivals: list[tuple[float, dict]] = []
    stack = LocalStack(StackOptions([args.video], counter_args, args.grabber_fps)).start()
    try:
        client = subscribe(stack.mqtt_port, lambda msg: arrivals.append((time.time(), json.loads(msg.payload))))
        while not arrivals:
            stack.check()
            time.sleep(0.1)
        time.sleep(args.warmup)
        first = len(arrivals)
        cpu_before = {name: service.cpu_seconds() for name, service in stack.services.items()}
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        cpu = {name: round(100 * (service.cpu_seconds() - cpu_before[name]) / elapsed, 1)
               for name, service in stack.services.items()}
        stack.check()
        client.loop_stop()
    finally:
        stack.stop()
    window = arrivals[first:]
    latency = [(arrived - message["capture_time"]) * 1000 for arrived, message in window]
    age = [message["frame_age_ms"] for _, message in window]
    report = {
        "seconds": round(elapsed, 1),
        "grabber_fps_cap": args.grabber_fps,
        "messages": len(window),
        "counts_per_second": round(len(window) / elapsed, 2),
        "frame_age_ms": {"p50": round(statistics.median(age), 1), "p95": round(percentile(age, 0.95), 1)},
        "end_to_end_ms": {"p50": round(statistics.median(latency), 1), "p95": round(percentile(latency, 0.95), 1)},
        "inference_ms_p50": round(statistics.median(m["inference_ms"] for _, m in window), 1),
        "cpu_percent_of_one_core": cpu,
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
