"""Running nucleus lite for a test: skip or fail when it cannot run, a running instance, an mTLS subscriber."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from nucleus import MQTT_PORT, NucleusLite, NucleusUnavailable
from support import SHARED_DIR, wait_for

SOURCE_DIR = SHARED_DIR / "greengrass-lite"
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI nucleus lite must run, so fail."""
    if IN_CI:
        pytest.fail(f"nucleus lite is required in CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def running_nucleus(bin_dir: Path, services: dict) -> Iterator[NucleusLite]:
    """Nucleus lite with the given component services; everything is stopped and removed afterwards."""
    runtime = Path(tempfile.mkdtemp(prefix="ggl-"))  # short: Unix socket paths are limited to 108 bytes
    nucleus = NucleusLite(bin_dir, SOURCE_DIR, runtime, services)
    try:
        try:
            nucleus.start()
        except NucleusUnavailable as exc:
            unavailable(str(exc))
        yield nucleus
    finally:
        nucleus.stop()
        shutil.rmtree(runtime, ignore_errors=True)


class TlsSubscriber:
    """An MQTT client of the mTLS broker (as AWS IoT Core's MQTT test client would be), collecting payloads."""

    def __init__(self, certs: Path, topic: str = "#") -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-subscriber-{uuid.uuid4().hex[:8]}")
        self.client.tls_set(ca_certs=str(certs / "ca.pem"), certfile=str(certs / "device.pem"),
                            keyfile=str(certs / "device.key"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_message = lambda _c, _u, msg: self.messages.append((msg.topic, msg.payload))
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("localhost", MQTT_PORT)
        self.client.loop_start()
        wait_for(self.client.is_connected, 10, what="the mTLS subscriber's connection")
        time.sleep(0.2)  # the SUBACK

    def json(self, topic: str | None = None) -> list[dict]:
        return [json.loads(p) for t, p in list(self.messages) if topic is None or t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
