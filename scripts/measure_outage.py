#!/usr/bin/env python3
"""Counts produced, delivered and dropped when IoT Core goes away, with the counter under nucleus lite.

The counter component runs from its ggctl-rendered recipe under nucleus lite (tests/greengrass_lite),
publishing every frame (QoS 1) to mosquitto with mutual TLS standing in for IoT Core, from a frame file
that a feeder refreshes with TUD-Stadtmitte frames at ``--feed-fps``. After ``--outage-at`` seconds the
broker stops for ``--outage`` seconds. At the end the counter's /metrics say how many messages it produced
(frames processed), delivered (acknowledged by the nucleus), dropped (queue overflow) and failed (refused);
the subscriber says how many arrived. Needs root, cgroup v2 and ../shared.

    .venv/bin/python scripts/measure_outage.py --seconds 180 --outage-at 60 --outage 60
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "greengrass_lite")]

import cv2  # noqa: E402
from lite_bed import TlsSubscriber, running_nucleus  # noqa: E402
from local_stack.services import free_port  # noqa: E402
from nucleus import build, component_service  # noqa: E402
from support import replace_frame, shared_path  # noqa: E402
from test_counter import counter_configuration, counter_recipe  # noqa: E402


def feed(path: Path, fps: float, stop: threading.Event) -> None:
    """The grabber's part: a new JPEG version of the frame file ``fps`` times a second, the video looping."""
    frames = []
    video = cv2.VideoCapture(str(shared_path("footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")))
    ok, image = video.read()
    while ok:
        frames.append(cv2.imencode(".jpg", image)[1].tobytes())
        ok, image = video.read()
    index = 0
    while not stop.wait(1.0 / fps):
        replace_frame(path, frames[index % len(frames)])
        index += 1


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("people_counter_") and "{" in line:
            name, value = line.split("{", 1)[0], line.rsplit(" ", 1)[1]
            values[name] = float(value)
    return values


def measure(seconds: float, outage_at: float, outage: float, feed_fps: float, queue_size: int,
            workdir: Path) -> dict[str, float]:
    bin_dir = build(shared_path("greengrass-lite"))
    recipe = counter_recipe()
    port = free_port()
    frame = workdir / "frame.jpg"
    configuration = counter_configuration(recipe, source=str(frame), publish_mode="every_frame", max_fps=0,
                                          qos=1, queue_size=queue_size, http_port=port,
                                          http_host="127.0.0.1", stats_interval=10)
    topic = str(configuration["topic"]).format(thing="+", camera=configuration["camera_id"])
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(frame, feed_fps, stop), daemon=True)
    feeder.start()
    name, version = recipe["ComponentName"], recipe["ComponentVersion"]
    try:
        with running_nucleus(bin_dir, {name: component_service(version, configuration)}) as nucleus:
            subscriber = TlsSubscriber(nucleus.certs, topic)
            try:
                component = nucleus.run_component(name, version, recipe)
                started = time.monotonic()
                time.sleep(outage_at)
                nucleus.stop_broker()
                print(f"broker stopped at {time.monotonic() - started:.0f} s", flush=True)
                time.sleep(outage)
                nucleus.start_broker()
                print(f"broker back at {time.monotonic() - started:.0f} s", flush=True)
                time.sleep(max(0.0, seconds - (time.monotonic() - started)))
                stop.set()  # no new frames: the queue drains and the numbers settle
                time.sleep(5)
                metrics = scrape(port)
                metrics["received_at_broker"] = len(subscriber.messages)
                if component.process.poll() is not None:
                    raise SystemExit(f"the counter exited:\n{component.output()[-2000:]}")
                return metrics
            finally:
                subscriber.close()
    finally:
        stop.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--outage-at", type=float, default=60)
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument("--feed-fps", type=float, default=5)
    parser.add_argument("--queue-size", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/measure-outage"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    m = measure(args.seconds, args.outage_at, args.outage, args.feed_fps, args.queue_size, args.workdir)
    produced = m.get("people_counter_frames_processed_total", 0)
    sent = m.get("people_counter_messages_published_total", 0)
    dropped = m.get("people_counter_messages_dropped_total", 0)
    failed = m.get("people_counter_publish_failures_total", 0)
    print(f"run {args.seconds:.0f} s, broker down {args.outage:.0f} s from {args.outage_at:.0f} s, "
          f"frames fed at {args.feed_fps:g} fps, queue_size {args.queue_size}")
    print(f"produced {produced:.0f}  delivered {sent:.0f}  dropped {dropped:.0f}  failed {failed:.0f}  "
          f"still queued {produced - sent - dropped - failed:.0f}  received at the broker "
          f"{m['received_at_broker']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
