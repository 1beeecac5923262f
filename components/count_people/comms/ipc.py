"""Publishes through the Greengrass nucleus over IPC: to AWS IoT Core, optionally to local pub/sub too.

The nucleus (or ``gg-ipc-local``) answers each PublishToIoTCore. The Java nucleus answers every refusal of
its MQTT client as ``ServiceError`` "Publish to topic T failed: REASON" (aws-greengrass-nucleus v2.18.2
src/main/java/com/aws/greengrass/builtin/services/mqttproxy/MqttProxyIPCAgent.java:129-134), so only REASON
tells a refusal of the message (``PERMANENT_REASONS``: its size or topic, which no retry fixes) from "cannot
deliver now" (offline at QoS 0, spool full; nucleus lite's "Failed to publish the message." for any publish
while its MQTT link is down): the first is counted and the queue moves on, the second stays at the head of the
queue and is retried with backoff. Other modelled errors (UnauthorizedError, InvalidArgumentsError) refuse that
one message and are counted; anything else means the connection is gone. Payloads over AWS IoT Core's limit
are refused here before they are queued.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping

from count_people.comms.base import DestinationUnavailable, MessageRejected, QueuedPublisher
from count_people.config import IOT_CORE_MAX_PAYLOAD_BYTES, Settings
from count_people.errors import UserError

SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
TOKEN_ENV = "SVCUID"
CONNECT_TIMEOUT_S = 5.0
#: A nucleus that does not answer within this time is treated as gone (reconnect).
SEND_TIMEOUT_S = 10.0
#: ServiceError reasons of the Java nucleus that refuse the message itself (aws-greengrass-nucleus v2.18.2,
#: src/main/java/com/aws/greengrass/): its size (mqttclient/MqttClient.java:740-741), its topic
#: (mqttclient/IotCoreTopicValidator.java:38-62), a device set to run offline (mqttclient/MqttClient.java:688).
#: The others are retried: "Device is offline. Dropping QoS 0 message." (:704), "Message spool is full"
#: (mqttclient/spool/Spool.java:375), and "Message is larger than the size of message spool" (:365), which a
#: payload within the limit meets only on a nucleus whose spool is set smaller: fixed there, delivery resumes.
PERMANENT_REASONS = (
    "bytes exceeds the configured limit of",
    "forward slashes (/)",
    "The topic size of request must be no larger than",
    "Reserved topic total length is greater than",
    "Publish topics must not contain wildcard characters",
    "Topic must not be empty",
    "Cannot publish because device is configured to run offline",
)
#: Connection losses in a row while sending one message that make it a refusal: nucleus lite does not answer a
#: request over its 10000-byte IPC buffer, it closes the connection (ggipcd/src/ipc_server.h:15,
#: ipc_server.c:484-487), so that message would otherwise be resent for ever, blocking the queue.
LOSSES_ON_ONE_MESSAGE = 3


def greengrass_environment(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(socket path, auth token) when running as a Greengrass component, else None."""
    environ = os.environ if environ is None else environ
    socket_path, token = environ.get(SOCKET_ENV), environ.get(TOKEN_ENV)
    return (socket_path, token) if socket_path and token else None


def require_ipc(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(socket path, token), or the one-line UserError saying what is missing (environment or SDK)."""
    found = greengrass_environment(environ)
    if found is None:
        raise UserError(f"Greengrass IPC needs {SOCKET_ENV} and {TOKEN_ENV}: run as a Greengrass component, "
                        "or export what gg-ipc-local prints")
    try:
        import awsiot.greengrasscoreipc  # noqa: F401
    except ImportError:
        raise UserError("Greengrass IPC needs the AWS IoT Device SDK; install it with "
                        "pip install 'edge-people-counter[greengrass]'") from None
    return found


class CallbackExecutor(ThreadPoolExecutor):
    """The client's callback executor, quiet once shut down.

    ``GreengrassCoreIPCClientV2.close`` shuts its executor down while the connection's streams are still
    closing; each stream's ``on_stream_closed`` then meets ``submit`` raising RuntimeError, which the SDK
    re-raises (its test of ``ignore_executor_exceptions`` is inverted there: awsiotsdk 1.31.0,
    awsiot/greengrasscoreipc/clientv2.py, ``__create_stream_handler``) and the CRT prints as a traceback at
    every stop. A callback after shutdown has nothing left to do: it is dropped.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        try:
            return super().submit(fn, *args, **kwargs)
        except RuntimeError:  # shut down
            dropped: Future = Future()
            dropped.cancel()
            return dropped


def connect_ipc(environ: Mapping[str, str] | None = None, executor: Any = True) -> Any:
    """A connected ``GreengrassCoreIPCClientV2``; raises the SDK's exception when the socket does not
    answer or refuses the token, so callers can retry. ``executor=True``: callbacks run on a
    :class:`CallbackExecutor`."""
    import awsiot.greengrasscoreipc as ipc
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

    socket_path, token = require_ipc(environ)
    client = ipc.connect(ipc_socket=socket_path, authtoken=token, timeout=CONNECT_TIMEOUT_S)
    return GreengrassCoreIPCClientV2(client=client, executor=CallbackExecutor() if executor is True else executor)


def rejection(exc: BaseException) -> str | None:
    """The server's reason when ``exc`` is a modelled error answer, None for transport failures."""
    from awsiot.eventstreamrpc import EventStreamOperationError

    if isinstance(exc, EventStreamOperationError):
        return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return None


def is_unavailable(exc: BaseException) -> bool:
    """True for a ServiceError that means "cannot deliver now" (offline), not a refusal of the message."""
    from awsiot.greengrasscoreipc.model import ServiceError

    if not isinstance(exc, ServiceError):
        return False
    reason = getattr(exc, "message", None) or str(exc)
    return not any(marker in reason for marker in PERMANENT_REASONS)


class IpcPublisher(QueuedPublisher):
    """PublishToIoTCore at the configured QoS, plus PublishToTopic on local pub/sub when ``local_pubsub``."""

    def __init__(self, qos: int = 0, queue_size: int = 100, local_pubsub: bool = False,
                 environ: Mapping[str, str] | None = None) -> None:
        self.qos, self.local_pubsub = qos, local_pubsub
        self._environ = dict(os.environ if environ is None else environ)
        socket_path, _ = require_ipc(self._environ)  # fail at start-up, not in the worker thread
        self._client: Any = None
        self._lost_on: tuple[bytes | None, int] = (None, 0)  # the message in flight at the last losses, how many
        super().__init__(f"greengrass ipc {socket_path}", queue_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> IpcPublisher:
        return cls(qos=settings.qos, queue_size=settings.queue_size, local_pubsub=settings.local_pubsub)

    def connect(self) -> None:
        self._client = connect_ipc(self._environ, executor=None)

    def refusal(self, topic: str, payload: bytes) -> str | None:
        if len(payload) > IOT_CORE_MAX_PAYLOAD_BYTES:  # the nucleus would refuse it on every retry
            return f"payload over the {IOT_CORE_MAX_PAYLOAD_BYTES}-byte limit of AWS IoT Core; dropped"
        return None

    def send(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage

        client = self._client
        if client is None:
            raise ConnectionError("not connected to the Greengrass nucleus")
        calls = [lambda: client.publish_to_iot_core_async(topic_name=topic, qos=str(self.qos if qos is None else qos),
                                                          payload=payload)]
        if self.local_pubsub:
            message = PublishMessage(binary_message=BinaryMessage(message=payload))
            calls.append(lambda: client.publish_to_topic_async(topic=topic, publish_message=message))
        refused = []
        for call in calls:
            try:
                call().result(SEND_TIMEOUT_S)
            except Exception as exc:
                reason = rejection(exc)
                if reason is None:
                    self._count_loss(payload)
                    raise
                if is_unavailable(exc) and call is calls[0]:  # IoT Core first: nothing was sent yet
                    raise DestinationUnavailable(reason) from None
                refused.append(reason)
        if refused:
            raise MessageRejected("; ".join(refused))

    def _count_loss(self, payload: bytes) -> None:
        """Raise MessageRejected when the connection was lost on this same message too often in a row."""
        previous, losses = self._lost_on
        losses = losses + 1 if previous is payload else 1
        self._lost_on = (None, 0) if losses >= LOSSES_ON_ONE_MESSAGE else (payload, losses)
        if losses >= LOSSES_ON_ONE_MESSAGE:
            raise MessageRejected(f"the nucleus closed the connection on this message {losses} times in a row, as "
                                  "nucleus lite does for a request over its 10000-byte IPC buffer; lower max_boxes")

    def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close(executor_wait=False)
            except Exception as exc:  # closing a dead connection must not stop the worker
                self.log.debug("%s: close failed: %s", self.description, exc)
