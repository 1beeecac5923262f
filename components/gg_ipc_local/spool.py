"""The IoT Core side of the nucleus: deliver PublishToIoTCore to the sinks, spool QoS 1 while they are down.

This follows the Java nucleus (aws-greengrass-nucleus @ a28341c):
- ``MqttClient.publish`` (src/main/java/com/aws/greengrass/mqttclient/MqttClient.java:700-707): while
  offline a QoS 0 publish is dropped with "Device is offline. Dropping QoS 0 message." unless
  ``keepQos0WhenOffline`` (default false, spool/Spool.java:38); ``MqttProxyIPCAgent`` answers that as
  ``ServiceError`` ("Publish to topic T failed: ...", builtin/services/mqttproxy/MqttProxyIPCAgent.java:129-134).
- QoS 1 goes into an in-memory spool of ``maxSizeInBytes`` payload bytes, default 2.5 MB
  (spool/Spool.java:40); a message larger than the spool, or one that does not fit, is refused
  ("Message spool is full. Message could not be added.", spool/Spool.java:363-376); spooled messages
  are published in order once the connection is back.
Nucleus lite differs: it fails QoS 0 and QoS 1 at once with ServiceError while offline and spools nothing
(../shared/greengrass-lite/README.md, "Known differences"); the conformance tests name that difference.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field

from gg_ipc_local.sinks import Sink, SinkError, SinkOffline

log = logging.getLogger("gg_ipc_local")

#: The Java nucleus's default mqtt.spooler.maxSizeInBytes (2.5 MB of payload).
DEFAULT_SPOOL_BYTES = int(2.5 * 1024 * 1024)
#: How often the spool looks for the link to come back.
RETRY_INTERVAL_S = 0.2


class PublishRefused(Exception):
    """The message cannot be delivered nor spooled; answered as ServiceError."""


@dataclass
class _Spooled:
    topic: str
    payload: bytes
    qos: int
    pending: list[Sink] = field(default_factory=list)  # sinks that have not taken it yet


class IotCoreLink:
    """The sinks standing in for IoT Core, with the nucleus's offline behaviour in front of them."""

    def __init__(self, sinks: list[Sink], spool_bytes: int = DEFAULT_SPOOL_BYTES) -> None:
        self.sinks = sinks
        self.spool_bytes = spool_bytes
        self._spool: collections.deque[_Spooled] = collections.deque()
        self._spooled_bytes = 0
        self._drainer: asyncio.Task | None = None
        self.dropped_offline = 0

    @property
    def online(self) -> bool:
        return all(sink.online for sink in self.sinks)

    @property
    def spooled(self) -> int:
        """Messages waiting for the link."""
        return len(self._spool)

    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Deliver now, spool (QoS 1, link down or spool not yet drained), or raise PublishRefused."""
        message = _Spooled(topic, payload, qos, list(self.sinks))
        if self.online and not self._spool:
            try:
                await self._deliver(message)
                return
            except SinkOffline:
                pass  # the link went down meanwhile: as if it had been down already
            except SinkError as exc:
                raise PublishRefused(str(exc)) from None
        if qos == 0 and not self.online:
            self.dropped_offline += 1
            raise PublishRefused("Device is offline. Dropping QoS 0 message.")
        self._add(message)

    def _add(self, message: _Spooled) -> None:
        size = len(message.payload)
        if size > self.spool_bytes:
            raise PublishRefused("Message is larger than the size of message spool.")
        if self._spooled_bytes + size > self.spool_bytes:
            raise PublishRefused("Message spool is full. Message could not be added.")
        self._spool.append(message)
        self._spooled_bytes += size
        if len(self._spool) == 1:
            log.warning("IoT Core side is offline: spooling QoS 1 messages (up to %d bytes)", self.spool_bytes)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _deliver(self, message: _Spooled) -> None:
        """Publish to each sink that has not taken the message yet (so a retry duplicates nothing)."""
        while message.pending:
            await message.pending[0].publish(message.topic, message.payload, message.qos)
            message.pending.pop(0)

    async def _drain(self) -> None:
        """Publish spooled messages in order, oldest first, once the link is back."""
        delivered = 0
        while self._spool:
            head = self._spool[0]
            if not self.online:
                await asyncio.sleep(RETRY_INTERVAL_S)
                continue
            try:
                await self._deliver(head)
            except SinkError as exc:
                log.debug("spooled message not delivered yet: %s", exc)
                await asyncio.sleep(RETRY_INTERVAL_S)
                continue
            self._spool.popleft()
            self._spooled_bytes -= len(head.payload)
            delivered += 1
        log.info("IoT Core side is back: delivered %d spooled messages", delivered)

    async def close(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
        if self._spool:
            log.warning("%d spooled messages were never delivered", len(self._spool))
        for sink in self.sinks:
            sink.close()
