#!/usr/bin/env python3
"""Several cameras on one model: total fps, per-camera fairness and RSS for N cameras, and batching.

Each N runs in a fresh process (so its peak RSS is its own): N frame files refreshed at 30 fps (the
grabber uncapped), one counter (``MultiCameraLoop``) with the body model from ../shared,
stdout publishing to /dev/null, for ``--seconds``. ``--batching`` times GluonCV forward passes of 4
frames as one batch against 4 single passes, to decide whether batching cameras pays on this CPU.

    .venv/bin/python scripts/bench_cameras.py --cameras 1 2 4 --seconds 20 --batching
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
MODEL = SHARED / "models/yolo-fastest/yolo-fastest-1.1_body"
FOOTAGE = SHARED / "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"


def run_cameras(count: int, seconds: float) -> dict:
    """In this process: N uncapped cameras for ``seconds``; fps per camera and peak RSS."""
    import cv2
    from count_people.config import Settings
    from count_people.loop import MultiCameraLoop

    capture, jpegs = cv2.VideoCapture(str(FOOTAGE)), []
    while len(jpegs) < 60 and (frame := capture.read())[0]:
        jpegs.append(cv2.imencode(".jpg", frame[1], [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    folder = Path(tempfile.mkdtemp(prefix="bench-cameras-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    settings = Settings().updated({
        "source": str(folder / "frame.jpg"), "detector": "opencv", "model": f"{MODEL}.cfg",
        "params": f"{MODEL}.weights", "labels": str(MODEL.parent / "body.names"), "class_alias": "body=person",
        "threshold": 0.48, "nms_threshold": 0.55, "state_file": "", "stats_interval": 0, "publish": "stdout",
        "cameras": [{"id": f"cam{i}"} for i in range(count)],
    })
    stop = threading.Event()

    def feed(path: Path) -> None:  # an uncapped 30 fps camera: faster than the detector shares out
        index = 0
        while not stop.wait(1 / 30):
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(jpegs[index % len(jpegs)])
            os.replace(temporary, path)
            index += 1

    feeders = [threading.Thread(target=feed, args=(folder / f"cam{i}.jpg",), daemon=True) for i in range(count)]
    for feeder in feeders:
        feeder.start()
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the messages; the result goes to stderr
    loop = MultiCameraLoop(settings)
    runner = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    runner.start()
    time.sleep(3)  # warm-up
    before = {cid: slot.loop.frames_processed for cid, slot in loop.slots.items()}
    time.sleep(seconds)
    fps = {cid: (slot.loop.frames_processed - before[cid]) / seconds for cid, slot in loop.slots.items()}
    stop.set()
    runner.join(10)
    return {"cameras": count, "total_fps": round(sum(fps.values()), 1), "min_fps": round(min(fps.values()), 1),
            "max_fps": round(max(fps.values()), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def batching(rounds: int = 10) -> dict:
    """GluonCV SSD forward: 4 frames as one batch vs 4 single passes (ms per frame, median of rounds)."""
    import mxnet as mx
    from gluoncv import model_zoo

    results = {}
    for name in ("ssd_512_mobilenet1.0_voc", "ssd_512_resnet50_v1_voc"):
        net = model_zoo.get_model(name, pretrained=False, pretrained_base=False)
        net.initialize()
        net.hybridize(static_alloc=True)
        single, batch = mx.nd.random.uniform(shape=(1, 3, 512, 683)), mx.nd.random.uniform(shape=(4, 3, 512, 683))
        times = {"single": [], "batch4": []}
        for _ in range(2):  # warm-up both shapes
            net(single)[0].wait_to_read()
            net(batch)[0].wait_to_read()
        for _ in range(rounds):
            tick = time.perf_counter()
            for _ in range(4):
                net(single)[0].wait_to_read()
            times["single"].append((time.perf_counter() - tick) / 4 * 1e3)
            tick = time.perf_counter()
            net(batch)[0].wait_to_read()
            times["batch4"].append((time.perf_counter() - tick) / 4 * 1e3)
        results[name] = {key: round(sorted(values)[len(values) // 2], 1) for key, values in times.items()}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batching", action="store_true", help="also time GluonCV batch-of-4 forward passes")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one N
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_cameras(args.one, args.seconds)), file=sys.stderr)
        return 0
    if not Path(f"{MODEL}.cfg").exists():
        raise SystemExit(f"needs ../shared (the body model): {MODEL}.cfg is absent")
    rows = []
    for count in args.cameras:
        child = subprocess.run([sys.executable, __file__, "--one", str(count), "--seconds", str(args.seconds)],
                               capture_output=True, text=True, check=True)
        rows.append(json.loads(child.stderr.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["peak_rss_mb"]
    for row in rows:
        print(f"{row['cameras']} camera(s): {row['total_fps']} fps in all, per camera {row['min_fps']}-"
              f"{row['max_fps']} fps, peak RSS {row['peak_rss_mb']} MB ({row['peak_rss_mb'] / base:.2f}x one camera)")
    if args.batching:
        for name, ms in batching().items():
            print(f"{name}: {ms['single']} ms per frame one at a time, {ms['batch4']} ms per frame in a batch of 4 "
                  f"({ms['single'] / ms['batch4']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
