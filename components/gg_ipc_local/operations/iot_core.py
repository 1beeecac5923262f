"""IoT Core operations (service ``aws.greengrass.ipc.mqttproxy``): PublishToIoTCore.

Checked in the Java nucleus's order and answered in its words (aws-greengrass-nucleus v2.18.2):
``MqttProxyIPCAgent`` (src/main/java/com/aws/greengrass/builtin/services/mqttproxy/MqttProxyIPCAgent.java:96-138)
authorises the topic, then hands the message to ``MqttClient.publish``, which checks the payload size
(mqttclient/MqttClient.java:736-742), then the topic (``IotCoreTopicValidator``, :743-744), then the link
(:700-706, gg_ipc_local.spool); every refusal there comes back as ``ServiceError`` "Publish to topic T failed:
REASON" (MqttProxyIPCAgent.java:129-134). A client cannot tell these permanent refusals from "offline" but
by the REASON text. Nucleus lite checks neither topic nor size: it forwards any topic to the broker and closes
the IPC connection on a request over its 10000-byte IPC buffer (ggipcd/src/ipc_server.h:15, ipc_server.c:484-487).
"""

from __future__ import annotations

import base64
import binascii
import re

from gg_ipc_local.recipe import MQTT_PROXY
from gg_ipc_local.rpc import Call, Handler, IpcError, Response
from gg_ipc_local.spool import PublishRefused

#: mqtt.maxMessageSizeInBytes default: 128 KiB of payload, the topic not counted (MqttClient.java:124, :738).
MAX_PAYLOAD_BYTES = 128 * 1024
#: IotCoreTopicValidator.java:24-26.
MAX_SLASHES, MAX_TOPIC_LENGTH, MAX_RESERVED_TOPIC_LENGTH = 7, 256, 512
#: Java's ``\S``: anything but ASCII whitespace; shared-subscription, Basic Ingest (IotCoreTopicValidator.java:28-31).
_NOT_SPACE = r"[^ \t\n\x0b\f\r]"
SHARED = re.compile(rf"\$share/{_NOT_SPACE}+/{_NOT_SPACE}+")
BASIC_INGEST = re.compile(rf"\$aws/rules/{_NOT_SPACE}+/{_NOT_SPACE}+")
BASIC_INGEST_PREFIX = re.compile(rf"\$aws/rules/{_NOT_SPACE}+?/")
#: IotCoreTopicValidator.java:38-62, verbatim.
TOPIC_TOO_LONG = (f"The topic size of request must be no larger than {MAX_TOPIC_LENGTH} bytes of UTF-8 encoded "
                  "characters. This excludes the first 3 mandatory segments for Basic Ingest topics "
                  "($AWS/rules/rule-name/)")
RESERVED_TOPIC_TOO_LONG = (f"Reserved topic total length is greater than {MAX_RESERVED_TOPIC_LENGTH} bytes of UTF-8 "
                           f"encoded characters and is most likely over the IoT Core limit of {MAX_TOPIC_LENGTH} "
                           "bytes (excluding prefixes).")
TOO_MANY_SLASHES = f"The request topic must have no more than {MAX_SLASHES} forward slashes (/)"
WILDCARDS = "Publish topics must not contain wildcard characters of '#' or '+'"
EMPTY_TOPIC = "Topic must not be empty"


def _java_length(text: str) -> int:
    """``String.length()``: UTF-16 code units, which is what the validator counts despite its wording."""
    return len(text.encode("utf-16-le")) // 2


def topic_refusal(topic: str) -> str | None:
    """Why ``IotCoreTopicValidator.validateTopic`` refuses ``topic`` for PUBLISH over MQTT 5 (the nucleus's
    default ``mqtt.version``, MqttClient.java:129), or None (IotCoreTopicValidator.java:75-138)."""
    if not topic:
        return EMPTY_TOPIC
    if "#" in topic or "+" in topic:
        return WILDCARDS
    effective = topic
    if topic.startswith("$") and not SHARED.fullmatch(topic):  # $share/G/T is validated whole (:96-105)
        if not BASIC_INGEST.fullmatch(topic):  # other reserved topics: a size cap only (:115-121)
            return RESERVED_TOPIC_TOO_LONG if _java_length(topic) > MAX_RESERVED_TOPIC_LENGTH else None
        effective = BASIC_INGEST_PREFIX.sub("", topic, count=1)  # (:108-113)
    if effective.count("/") > MAX_SLASHES:
        return TOO_MANY_SLASHES
    if _java_length(effective) > MAX_TOPIC_LENGTH:
        return TOPIC_TOO_LONG
    return None


async def publish_to_iot_core(call: Call, request: dict) -> Response:
    topic = request.get("topicName")
    if not isinstance(topic, str):
        raise IpcError("InvalidArgumentsError", "Topic is required")  # MqttProxyIPCAgent.java:58, :278-284
    call.server.authorize(MQTT_PROXY, "PublishToIoTCore", topic)
    if request.get("payload") is None:
        raise IpcError("InvalidArgumentsError", "Payload is required")  # :57, :286-292
    try:
        payload = base64.b64decode(request["payload"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise IpcError("InvalidArgumentsError", "payload is not base64") from None
    qos = request.get("qos")
    if qos is None:
        raise IpcError("InvalidArgumentsError", "QoS is required")  # :59, :294-298
    if str(qos) not in ("0", "1"):
        raise IpcError("InvalidArgumentsError", f"Invalid QoS value: {qos}")  # :60, :300-307
    try:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PublishRefused(f"The publishing message size {len(payload)} bytes exceeds the configured limit "
                                 f"of {MAX_PAYLOAD_BYTES} bytes")
        refusal = topic_refusal(topic)
        if refusal:
            raise PublishRefused(refusal)
        await call.server.iot_core.publish(topic, payload, int(qos))
    except PublishRefused as exc:
        raise IpcError("ServiceError", f"Publish to topic {topic} failed: {exc}") from None
    return Response("PublishToIoTCoreResponse", {})


OPERATIONS: dict[str, Handler] = {"PublishToIoTCore": publish_to_iot_core}
