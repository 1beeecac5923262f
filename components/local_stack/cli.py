"""``people-counter-local``: the whole chain on this machine, printing live counts from MQTT.

Several sources make several cameras of one grabber and one counter. Everything after the sources that
this command does not know goes to ``count-people``, e.g.
``people-counter-local door=video.mp4 test --detector opencv --model yolo.cfg --params yolo.weights``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paho.mqtt.client as mqtt

from local_stack.services import StackError
from local_stack.stack import LocalStack, StackOptions

log = logging.getLogger("local_stack")


def format_count(message: dict) -> str:
    """One human line per message: when, which camera, how many of what, how fast, how fresh."""
    stamp = time.strftime("%H:%M:%S", time.localtime(message["capture_time"]))
    counts = ", ".join(f"{label}: {n}" for label, n in message["counts"].items())
    latency = (time.time() - message["capture_time"]) * 1000
    return (f"{stamp} {message['camera_id']}  {counts}  ({message['fps']:.1f} fps, inference "
            f"{message['inference_ms']:.0f} ms, frame age {message['frame_age_ms']:.0f} ms, "
            f"end to end {latency:.0f} ms)")


def subscribe(url_port: int, on_message) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe("#", qos=0)
    client.on_message = lambda _c, _u, msg: on_message(msg)
    client.reconnect_delay_set(0.2, 2)
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    return client


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="people-counter-local",
        description="Run a camera emulator per video file, one grabber and one counter for all cameras, a local "
        "Greengrass IPC server and mosquitto on this machine, and print the counts as they arrive over MQTT. "
        "Ctrl-C stops everything. Unknown options go to count-people (see count-people --help).",
    )
    parser.add_argument("sources", nargs="+", metavar="[ID=]SOURCE",
                        help="one camera each: a video file to serve as an emulated camera, 'test' (a test pattern), "
                        "or the rtsp:// URL of a camera; ID names the camera (default: the file name, else camera-N)")
    parser.add_argument("--grabber-fps", type=int, default=10, help="grabber frames per second cap (default: 10)")
    parser.add_argument("--config", type=Path, help="counter settings (YAML/JSON, count-people keys), served as its "
                        "Greengrass component configuration over the local IPC server; entries of its 'cameras' "
                        "list (lines, zones, ...) apply to the source with that ID")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: until Ctrl-C)")
    parser.add_argument("--workdir", type=Path, help="logs and sockets go here (default: a new temp folder)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON messages instead of a summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, counter_args = build_parser().parse_known_args(argv)
    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stack = LocalStack(StackOptions(args.sources, counter_args, args.grabber_fps, counter_config=args.config,
                                        workdir=args.workdir))
    except StackError as exc:
        print(f"people-counter-local: error: {exc}", file=sys.stderr)
        return 2
    log.info("logs in %s", stack.workdir)
    try:
        stack.start()
        for camera in stack.cameras:
            log.info("camera %s: %s -> grabber -> %s -> counter -> IPC -> %s", camera.id,
                     stack.camera_url(camera).split("@")[-1], stack.frame_file(camera.id), stack.mqtt_url)

        def show(msg: mqtt.MQTTMessage) -> None:
            if args.json:
                print(msg.payload.decode(), flush=True)
            else:
                print(format_count(json.loads(msg.payload)), flush=True)

        client = subscribe(stack.mqtt_port, show)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.wait(0.5):
            stack.check()
            if deadline and time.monotonic() > deadline:
                break
        client.loop_stop()
    except StackError as exc:
        print(f"people-counter-local: error: {exc}", file=sys.stderr)
        return 1
    finally:
        log.info("stopping")
        stack.stop()
    return 0
