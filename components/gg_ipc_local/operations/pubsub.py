"""Local publish/subscribe (service ``aws.greengrass.ipc.pubsub``): PublishToTopic, SubscribeToTopic.

As the Java nucleus does it (aws-greengrass-nucleus v2.18.2,
src/main/java/com/aws/greengrass/builtin/services/pubsub/PubSubIPCEventStreamAgent.java): both operations
authorise the topic string itself, literally or by ``*`` glob (``+`` and ``#`` are literal there, see
``gg_ipc_local.recipe``), before anything else (:234-241, :283-289); a subscription may use MQTT wildcards
to receive, a publish topic may contain none of ``+``, ``#``, ``*`` (:137-140). A wildcard subscription
that names no receiveMode gets RECEIVE_MESSAGES_FROM_OTHERS (:310-321), and that mode skips messages
published by the same component (:150-154): here every client is the served component.
"""

from __future__ import annotations

from gg_ipc_local.recipe import PUBSUB
from gg_ipc_local.rpc import Call, Handler, IpcError, Response

FROM_OTHERS = "RECEIVE_MESSAGES_FROM_OTHERS"


def topic_matches(topic_filter: str, topic: str) -> bool:
    """A subscription's match as SubscriptionTrie.get does it (SubscriptionTrie.java:152-195): ``+`` is one
    level, ``#`` one or more remaining levels (``a/#`` does not match ``a``)."""
    filter_levels, levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if index >= len(levels):
            return False
        if level == "#":
            return True
        if level != "+" and level != levels[index]:
            return False
    return len(filter_levels) == len(levels)


def is_wildcard(topic_filter: str) -> bool:
    """SubscriptionTrie.isWildcard (SubscriptionTrie.java:204-217): a whole ``+`` level, or ``#`` last."""
    levels = topic_filter.split("/")
    return "+" in levels or levels[-1] == "#"


async def publish_to_topic(call: Call, request: dict) -> Response:
    topic, message = request.get("topic"), request.get("publishMessage") or {}
    if not isinstance(topic, str) or not topic:
        raise IpcError("InvalidArgumentsError", "Publish topic must not be null")
    call.server.authorize(PUBSUB, "PublishToTopic", topic)
    if any(wildcard in topic for wildcard in "+#*"):
        raise IpcError("InvalidArgumentsError", "Publish topic must not contain a wildcard.")
    body = message.get("jsonMessage") or message.get("binaryMessage") if isinstance(message, dict) else None
    if not isinstance(body, dict) or "message" not in body:
        raise IpcError("InvalidArgumentsError", "publishMessage needs a jsonMessage or binaryMessage")
    union = "jsonMessage" if "jsonMessage" in message else "binaryMessage"
    event = {union: {"message": body["message"], "context": {"topic": topic}}}
    for sub in call.server.subscriptions:
        if sub.kind == "topic" and topic_matches(sub.key, topic) and not sub.from_others:
            sub.send("SubscriptionResponseMessage", event)
    return Response("PublishToTopicResponse", {})


async def subscribe_to_topic(call: Call, request: dict) -> Response:
    topic = request.get("topic")
    if not isinstance(topic, str) or not topic:
        raise IpcError("InvalidArgumentsError", "Subscribe topic must not be empty")
    call.server.authorize(PUBSUB, "SubscribeToTopic", topic)
    mode = request.get("receiveMode") or (FROM_OTHERS if is_wildcard(topic) else "RECEIVE_ALL_MESSAGES")
    call.subscribe("topic", topic, from_others=mode == FROM_OTHERS)
    return Response("SubscribeToTopicResponse", {}, streaming=True)  # empty, as :294 answers


OPERATIONS: dict[str, Handler] = {"PublishToTopic": publish_to_topic, "SubscribeToTopic": subscribe_to_topic}
