"""Publishers, one module per transport, behind ``comms.base.Publisher``."""

from __future__ import annotations

from count_people.comms.base import Publisher
from count_people.config import Settings


def create_publisher(settings: Settings) -> Publisher:
    """The publisher selected by ``settings.publish`` (stdout, ipc or mqtt://HOST:PORT)."""
    if settings.publish == "stdout":
        from count_people.comms.stdout import StdoutPublisher

        return StdoutPublisher()
    if settings.publish.startswith("mqtt://"):
        from count_people.comms.mqtt import MqttPublisher

        return MqttPublisher(settings.publish, qos=settings.qos, queue_size=settings.queue_size)
    from count_people.comms.ipc import IpcPublisher

    return IpcPublisher(qos=settings.qos, queue_size=settings.queue_size, local_pubsub=settings.local_pubsub)
