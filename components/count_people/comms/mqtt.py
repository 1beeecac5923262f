"""Publishes to an MQTT broker (mosquitto locally, or any broker) with paho-mqtt."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from count_people.comms.base import MessageRejected, QueuedPublisher, Refused
from count_people.config import Settings

CONNECT_TIMEOUT_S = 5.0
#: CONNACK reasons that the same client meets again on every retry (MQTT 5 codes; paho maps 3.1.1's onto them):
#: unsupported protocol version, client identifier not valid, bad user name or password, not authorized, banned,
#: bad authentication method.
PERMANENT_REFUSALS = frozenset({132, 133, 134, 135, 138, 140})


class MqttPublisher(QueuedPublisher):
    """QoS 0 or 1; QoS 1 waits for the broker's PUBACK before the next message."""

    def __init__(self, url: str, qos: int = 0, queue_size: int = 100) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.qos = parts.hostname or "localhost", parts.port or 1883, qos
        self._client: mqtt.Client | None = None
        self._connected_event = threading.Event()
        self._refusal: mqtt.ReasonCode | None = None
        super().__init__(f"mqtt {self.host}:{self.port}", queue_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> MqttPublisher:
        return cls(settings.publish, qos=settings.qos, queue_size=settings.queue_size)

    def connect(self) -> None:
        """One connection attempt: paho's own reconnect loop is stopped on a refusal, so each backoff step of
        the worker is exactly one attempt."""
        self._connected_event.clear()
        self._refusal = None
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"count-people-{uuid.uuid4().hex[:8]}",
        )
        client.on_connect = self._on_connect
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        acknowledged = self._connected_event.wait(CONNECT_TIMEOUT_S)
        refusal = self._refusal
        if not acknowledged or refusal is not None:
            client.disconnect()
            client.loop_stop()
            if refusal is None:
                raise ConnectionError("broker did not acknowledge the connection")
            if refusal.value in PERMANENT_REFUSALS:
                raise Refused(f"broker answered {refusal}")
            raise ConnectionError(f"broker refused the connection: {refusal}")
        self._client = client

    @property
    def healthy(self) -> bool:
        """Connected now (paho notices a lost broker before the next send does)."""
        client = self._client
        return client is not None and client.is_connected()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refusal = reason_code
        self._connected_event.set()

    def send(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        client = self._client
        if client is None or not client.is_connected():
            raise ConnectionError("connection to the broker lost")
        try:
            qos = self.qos if qos is None else qos
            info = client.publish(topic, payload, qos=qos)
        except ValueError as exc:  # paho refuses this topic or payload (wildcards, size): reconnecting won't help
            raise MessageRejected(str(exc)) from None
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(mqtt.error_string(info.rc))
        if qos:
            info.wait_for_publish(CONNECT_TIMEOUT_S)
            if not info.is_published():
                raise ConnectionError("no PUBACK from the broker")

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
