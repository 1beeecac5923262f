"""Publishes to an MQTT broker (mosquitto locally, or any broker) with paho-mqtt."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from count_people.comms.base import QueuedPublisher
from count_people.config import Settings

CONNECT_TIMEOUT_S = 5.0


class MqttPublisher(QueuedPublisher):
    """QoS 0 or 1; QoS 1 waits for the broker's PUBACK before the next message."""

    def __init__(self, url: str, qos: int = 0, queue_size: int = 100) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.qos = parts.hostname or "localhost", parts.port or 1883, qos
        self._client: mqtt.Client | None = None
        self._connected_event = threading.Event()
        super().__init__(f"mqtt {self.host}:{self.port}", queue_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> MqttPublisher:
        return cls(settings.publish, qos=settings.qos, queue_size=settings.queue_size)

    def connect(self) -> None:
        self._connected_event.clear()
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"count-people-{uuid.uuid4().hex[:8]}",
        )
        client.on_connect = self._on_connect
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        if not self._connected_event.wait(CONNECT_TIMEOUT_S):
            client.loop_stop()
            client.disconnect()
            raise ConnectionError("broker did not acknowledge the connection")
        self._client = client

    @property
    def healthy(self) -> bool:
        """Connected now (paho notices a lost broker before the next send does)."""
        client = self._client
        return client is not None and client.is_connected()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            self._connected_event.set()

    def send(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is None or not client.is_connected():
            raise ConnectionError("connection to the broker lost")
        info = client.publish(topic, payload, qos=self.qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(mqtt.error_string(info.rc))
        if self.qos:
            info.wait_for_publish(CONNECT_TIMEOUT_S)
            if not info.is_published():
                raise ConnectionError("no PUBACK from the broker")

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
