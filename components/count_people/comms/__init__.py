"""Publishers, one module per transport, behind ``comms.base.Publisher``; ``TRANSPORTS`` is the registry."""

from __future__ import annotations

from count_people.comms.base import Publisher
from count_people.comms.ipc import IpcPublisher
from count_people.comms.mqtt import MqttPublisher
from count_people.comms.stdout import StdoutPublisher
from count_people.config import Settings

#: ``publish`` value (its scheme for URLs: mqtt://HOST:PORT) -> transport.
TRANSPORTS: dict[str, type[Publisher]] = {
    "stdout": StdoutPublisher,
    "ipc": IpcPublisher,
    "mqtt": MqttPublisher,
}


def create_publisher(settings: Settings) -> Publisher:
    """The publisher selected by ``settings.publish`` (validated by Settings: stdout, ipc or mqtt://HOST:PORT)."""
    return TRANSPORTS[settings.publish.partition("://")[0]].from_settings(settings)
