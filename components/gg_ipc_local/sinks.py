"""Where ``PublishToIoTCore`` messages go instead of AWS IoT Core: an MQTT broker and/or a file."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

log = logging.getLogger("gg_ipc_local")

PUBACK_TIMEOUT_S = 10.0


class SinkError(Exception):
    """The sink cannot take the message now; answered to the client as a ServiceError."""


class SinkOffline(SinkError):
    """The sink's link is down (the IoT Core side is unreachable): QoS 1 messages wait in the spool."""


class Sink(ABC):
    @abstractmethod
    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Deliver one message; for QoS 1 return only once it is acknowledged or stored."""

    @property
    def online(self) -> bool:
        """Whether the link behind the sink is up (a file always is)."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the sink."""


class JsonLinesSink(Sink):
    """Appends one JSON object per message; the payload as text when it is UTF-8, else base64."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the server's life

    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        record: dict[str, Any] = {"time": round(time.time(), 3), "topic": topic, "qos": qos}
        try:
            record["payload"] = payload.decode()
        except UnicodeDecodeError:
            record["payload_base64"] = base64.b64encode(payload).decode()
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class MqttSink(Sink):
    """Forwards to an MQTT broker; QoS 1 completes on the broker's PUBACK. paho reconnects by itself."""

    def __init__(self, url: str, connect_wait: float = 5.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 1883
        self._connected = threading.Event()
        self._closing = False
        self._client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                   client_id=f"gg-ipc-local-{uuid.uuid4().hex[:8]}")
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(0.5, 10)
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(connect_wait):
            log.warning("MQTT broker %s:%d not reachable yet; retrying in the background", self.host, self.port)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            log.info("forwarding PublishToIoTCore to MQTT broker %s:%d", self.host, self.port)
            self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set() and not self._closing:
            log.warning("lost MQTT broker %s:%d (%s); reconnecting", self.host, self.port, reason_code)
        self._connected.clear()

    @property
    def online(self) -> bool:
        return self._connected.is_set()

    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        if not self._connected.is_set():
            raise SinkOffline(f"MQTT broker {self.host}:{self.port} is not connected")
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            raise SinkOffline(f"MQTT broker {self.host}:{self.port} is not connected")
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise SinkError(f"MQTT broker {self.host}:{self.port}: {mqtt.error_string(info.rc)}")
        if qos:
            try:
                await asyncio.get_running_loop().run_in_executor(None, info.wait_for_publish, PUBACK_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                raise SinkError(f"MQTT broker {self.host}:{self.port}: {exc}") from None
            if not info.is_published():
                raise SinkOffline(f"no PUBACK from MQTT broker {self.host}:{self.port}")

    def close(self) -> None:
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
