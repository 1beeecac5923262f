"""Helpers shared by tests of every component: paths, free ports, real brokers, polling."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from count_people.comms.backoff import Backoff
from count_people.comms.base import Publisher
from local_stack.services import StackError, free_port, mosquitto_command, port_open

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))

T = TypeVar("T")


def shared_path(relative: str) -> Path:
    """A file under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (real weights and footage live in ../shared beside the checkout)")
    return path


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll until ``condition()`` is truthy and return it; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1 that a test can stop and start again on the same port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        try:
            self.argv = mosquitto_command(workdir, self.port)
        except StackError as exc:
            pytest.skip(str(exc))
        self.log = workdir / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=log)
        wait_for(lambda: port_open(self.port), 10, what=f"mosquitto on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def replace_frame(path: Path, data: bytes) -> None:
    """Write like the grabber's multifilesink: temp file then rename, so readers see whole files."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Subscriber:
    """A real MQTT client collecting JSON payloads of one topic filter; reconnects by itself."""

    def __init__(self, port: int, topic: str = "#") -> None:
        self.messages: list[dict] = []
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_message = lambda _c, _u, msg: self.messages.append(json.loads(msg.payload))
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.client.is_connected, 5, what="subscriber connection")
        time.sleep(0.2)  # let the SUBACK arrive before publishing starts

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


BODY_MODEL = "models/yolo-fastest/yolo-fastest-1.1_body"


def body_model_args(threshold: float = 0.4) -> list[str]:
    """count-people options for the shared person-only Yolo-Fastest model (skips when ../shared is absent)."""
    cfg = shared_path(BODY_MODEL + ".cfg")
    return ["--detector", "opencv", "--model", str(cfg), "--params", str(cfg.with_suffix(".weights")),
            "--labels", str(cfg.parent / "body.names"), "--class-alias", "body=person",
            "--threshold", str(threshold)]


def message_schema(name: str = "message") -> dict:
    """One of the counter's JSON Schemas as shipped in the package (``message``, ``summary`` or ``event``)."""
    import count_people

    return json.loads((Path(count_people.__file__).parent / "schema" / f"{name}.schema.json").read_text())


def schema_validator(name: str = "message") -> Any:
    """A validator of one shipped schema that resolves references to the others (message -> event)."""
    import jsonschema
    from referencing import Registry, Resource

    schemas = [message_schema(n) for n in ("message", "summary", "event")]
    registry = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas)
    return jsonschema.Draft202012Validator(message_schema(name), registry=registry)


@contextlib.contextmanager
def quick_retry_publishers(factory: Callable[..., Publisher]) -> Iterator[Callable[..., Publisher]]:
    """Publishers made by ``factory`` with sub-second reconnect backoff, all closed afterwards."""
    made: list[Publisher] = []

    def make(*args, **kwargs) -> Publisher:
        publisher = factory(*args, **kwargs)
        publisher.backoff = Backoff(first=0.1, cap=0.5)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close(timeout=1)


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of GET http://127.0.0.1:PORT/PATH, error statuses included; (0, b"") while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""
