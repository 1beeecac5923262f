"""Local publish/subscribe (service ``aws.greengrass.ipc.pubsub``): PublishToTopic, SubscribeToTopic."""

from __future__ import annotations

from gg_ipc_local.recipe import PUBSUB
from gg_ipc_local.rpc import Call, Handler, IpcError, Response


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (the rest)."""
    filter_levels, levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(filter_levels) == len(levels)


async def publish_to_topic(call: Call, request: dict) -> Response:
    topic, message = request.get("topic"), request.get("publishMessage") or {}
    if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
        raise IpcError("InvalidArgumentsError", "topic must be a topic without wildcards")
    body = message.get("jsonMessage") or message.get("binaryMessage") if isinstance(message, dict) else None
    if not isinstance(body, dict) or "message" not in body:
        raise IpcError("InvalidArgumentsError", "publishMessage needs a jsonMessage or binaryMessage")
    call.server.authorize(PUBSUB, "PublishToTopic", topic)
    union = "jsonMessage" if "jsonMessage" in message else "binaryMessage"
    event = {union: {"message": body["message"], "context": {"topic": topic}}}
    for sub in call.server.subscriptions:
        if sub.kind == "topic" and topic_matches(sub.key, topic) and not (
                sub.from_others and sub.connection is call.connection):
            sub.send("SubscriptionResponseMessage", event)
    return Response("PublishToTopicResponse", {})


async def subscribe_to_topic(call: Call, request: dict) -> Response:
    topic = request.get("topic")
    if not isinstance(topic, str) or not topic:
        raise IpcError("InvalidArgumentsError", "topic is required")
    call.server.authorize(PUBSUB, "SubscribeToTopic", topic)
    call.subscribe("topic", topic, from_others=request.get("receiveMode") == "RECEIVE_MESSAGES_FROM_OTHERS")
    return Response("SubscribeToTopicResponse", {"topicName": topic}, streaming=True)


OPERATIONS: dict[str, Handler] = {"PublishToTopic": publish_to_topic, "SubscribeToTopic": subscribe_to_topic}
