"""IoT Core operations (service ``aws.greengrass.ipc.mqttproxy``): PublishToIoTCore."""

from __future__ import annotations

import base64
import binascii

from gg_ipc_local.recipe import MQTT_PROXY
from gg_ipc_local.rpc import Call, Handler, IpcError, Response
from gg_ipc_local.spool import PublishRefused

#: AWS IoT Core refuses larger payloads, and so does the nucleus.
MAX_PAYLOAD_BYTES = 128 * 1024


async def publish_to_iot_core(call: Call, request: dict) -> Response:
    topic, qos = request.get("topicName"), str(request.get("qos", "0"))
    if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
        raise IpcError("InvalidArgumentsError", "topicName must be a topic without wildcards")
    if qos not in ("0", "1"):
        raise IpcError("InvalidArgumentsError", f"qos must be 0 or 1, not {qos}")
    try:
        payload = base64.b64decode(request.get("payload") or "", validate=True)
    except (binascii.Error, TypeError):
        raise IpcError("InvalidArgumentsError", "payload is not base64") from None
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise IpcError("InvalidArgumentsError",
                       f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte IoT Core limit")
    call.server.authorize(MQTT_PROXY, "PublishToIoTCore", topic)
    try:
        await call.server.iot_core.publish(topic, payload, int(qos))
    except PublishRefused as exc:  # worded as MqttProxyIPCAgent.java:133 words it
        raise IpcError("ServiceError", f"Publish to topic {topic} failed: {exc}") from None
    return Response("PublishToIoTCoreResponse", {})


OPERATIONS: dict[str, Handler] = {"PublishToIoTCore": publish_to_iot_core}
