#!/usr/bin/env python3
"""Throughput of PublishToIoTCore through the real SDK client against gg-ipc-local, QoS 0 and 1.

The server runs in its own process (as the nucleus would) and the client publishes one
message at a time and waits for each answer, as ``IpcPublisher`` does. Usage:

    .venv/bin/python scripts/bench_ipc.py [--count 2000] [--rounds 5] [--payload-bytes 1024] [--mqtt mqtt://HOST:PORT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awsiot.greengrasscoreipc as ipc
import yaml
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

COMPONENT = "bench.IpcPublisher"
TOPIC = "bench/thing/cam"


def start_server(workdir: Path, mqtt: str | None) -> tuple[subprocess.Popen, dict[str, str]]:
    recipe = workdir / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"ComponentName": COMPONENT, "ComponentConfiguration": {
        "DefaultConfiguration": {"accessControl": {"aws.greengrass.ipc.mqttproxy": {"bench:1": {
            "operations": ["aws.greengrass#PublishToIoTCore"], "resources": ["bench/#"]}}}}}}))
    command = [sys.executable, "-m", "gg_ipc_local", "--recipe", str(recipe), "--socket", str(workdir / "s"),
               "--log-level", "WARNING"]
    command += ["--mqtt", mqtt] if mqtt else ["--jsonl", str(workdir / "iotcore.jsonl")]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    env = {}
    for line in server.stdout:
        if line.startswith("export "):
            key, _, value = line[len("export "):].strip().partition("=")
            env[key] = value
        if len(env) == 3:
            return server, env
    raise SystemExit("gg-ipc-local did not start")


def rate(client: GreengrassCoreIPCClientV2, qos: str, count: int, payload: bytes) -> float:
    for _ in range(min(200, count)):  # warm-up
        client.publish_to_iot_core(topic_name=TOPIC, qos=qos, payload=payload)
    started = time.perf_counter()
    for _ in range(count):
        client.publish_to_iot_core(topic_name=TOPIC, qos=qos, payload=payload)
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="messages per round (default: %(default)s)")
    parser.add_argument("--payload-bytes", type=int, default=1024, help="payload size (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per QoS (default: %(default)s)")
    parser.add_argument("--mqtt", help="forward to this broker instead of appending to a JSON-lines file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ipc-"))
    server, env = start_server(workdir, args.mqtt)
    try:
        client = GreengrassCoreIPCClientV2(client=ipc.connect(
            ipc_socket=env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"], authtoken=env["SVCUID"]))
        payload = b"x" * args.payload_bytes
        sink = f"MQTT {args.mqtt}" if args.mqtt else "JSON-lines file"
        print(f"PublishToIoTCore, {args.payload_bytes}-byte payload, {args.count} messages, sink: {sink}, "
              f"{os.cpu_count()} CPUs")
        rates: dict[str, list[float]] = {"0": [], "1": []}
        for _ in range(args.rounds):  # interleaved, so load from elsewhere hits both alike
            for qos, found in rates.items():
                found.append(rate(client, qos, args.count, payload))
        for qos, found in rates.items():
            print(f"QoS {qos}: median {statistics.median(found):6.0f} msgs/s "
                  f"(min {min(found):.0f}, max {max(found):.0f}, {args.rounds} rounds)")
        client.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
