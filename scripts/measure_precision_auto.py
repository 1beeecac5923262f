#!/usr/bin/env python3
"""``precision: auto`` from outside: time to the first count, the choice and the measured INT8 speed-up.

Runs the real counter (``python -m count_people``) on a frame file that a thread keeps replacing with the
frames of a video at 5 fps (as the grabber does), with the GluonCV SSD and random He-initialised
weights (no pretrained ones here: the speed-up is meaningful, the agreement is not) and a fresh model cache,
then once more with the cache it left (the choice is then read, not measured). Prints one JSON line per run.

    .venv/bin/python scripts/measure_precision_auto.py [--model ssd_512_resnet50_v1_voc] [--video V] [--timeout 600]
        [--calibration-frames 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
CHOICE = re.compile(r"precision auto: (\w+) on (.*?): (.*?); (.*) \(([\d.]+) s\)$")


def feed(video: Path, frame: Path, stop: threading.Event, fps: float = 5.0) -> None:
    """Play ``video`` in a loop into ``frame`` as the grabber does (JPEG replaced atomically), ``fps`` frames/s."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    while not stop.is_set():
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        cv2.imwrite(str(frame.with_suffix(".tmp.jpg")), image)
        os.replace(frame.with_suffix(".tmp.jpg"), frame)
        stop.wait(1.0 / fps)
    capture.release()


def run(args: argparse.Namespace, params: Path, cache: Path, frame: Path) -> dict:
    command = [sys.executable, "-m", "count_people", "--detector", "gluoncv", "--model", args.model,
               "--params", str(params), "--precision", "auto", "--source", str(frame),
               "--calibration-source", str(args.video), "--calibration-frames", str(args.calibration_frames),
               "--model-cache", str(cache), "--publish", "stdout",
               "--stats-interval", "0", "--state-file", ""]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    result: dict = {"lscpu_model": cpu_line()}
    counts_after_switch = []

    def read_log() -> None:
        for line in process.stderr:
            match = CHOICE.search(line.strip())
            if match:
                result.update(choice=match[1], cpu=match[2], reason=match[3], measured=match[4],
                              switch_after_s=round(time.monotonic() - started, 1), measure_s=float(match[5]))
                print(json.dumps({"event": "precision chosen", **result}), flush=True)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    for line in process.stdout:
        if "first_count_after_s" not in result:
            result["first_count_after_s"] = round(time.monotonic() - started, 1)
            print(json.dumps({"event": "first count", **result}), flush=True)
        if "switch_after_s" in result:
            counts_after_switch.append(json.loads(line).get("inference_ms"))
            if len(counts_after_switch) >= 10:
                break
        if time.monotonic() - started > args.timeout:
            break
    process.terminate()
    process.wait(30)
    if counts_after_switch:
        result["inference_ms_after_switch"] = round(sorted(counts_after_switch)[len(counts_after_switch) // 2], 1)
    return result


def cpu_line() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("Flags")), [])
    return f"{model} ({', '.join(f for f in ('amx_int8', 'avx512_vnni', 'avx_vnni', 'avx2') if f in flags)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ssd_512_resnet50_v1_voc")
    parser.add_argument("--video", type=Path, default=SHARED / "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--calibration-frames", type=int, default=50, help="INT8 calibration frames (as the key)")
    args = parser.parse_args()
    from count_people.detectors.gluoncv import save_untrained_params

    with tempfile.TemporaryDirectory() as folder:
        params = Path(save_untrained_params(args.model, f"{folder}/random.params", he_init=True))
        frame, stop = Path(folder) / "frame.jpg", threading.Event()
        threading.Thread(target=feed, args=(args.video, frame, stop), daemon=True).start()
        try:
            for label in ("fresh cache", "cached choice"):
                print(json.dumps({"run": label, **run(args, params, Path(folder) / "cache", frame)}), flush=True)
        finally:
            stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
