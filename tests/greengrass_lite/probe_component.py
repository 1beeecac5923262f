"""A component process that runs one IPC scenario with GreengrassCoreIPCClientV2 and writes what it saw.

Run the same way under gg-ipc-local (its printed environment) and under nucleus lite (recipe-runner), so
the conformance tests compare two nuclei, not two clients. ``python probe_component.py SCENARIO OUT.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import threading
from typing import Any, Callable

from awsiot.greengrasscoreipc import model
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from gg_ipc_local import eventstream as es

ALLOWED_TOPIC = "people/probe-thing/probe"
#: Granted literally on local pub/sub (a + there is a character, not a level wildcard).
LITERAL_PLUS = "mqtt/+/probe"
#: Another component on the device, whose configuration the probe reads by name.
OTHER = "com.example.Other"
TIMEOUT_S = 10.0


def attempt(action: Callable[[], Any]) -> dict:
    """``{"ok": value}`` or ``{"error": the modelled error's class name, "message": ...}``."""
    try:
        return {"ok": action()}
    except Exception as exc:  # any failure is a result the test compares
        return {"error": type(exc).__name__, "message": getattr(exc, "message", None) or str(exc)}


def publish(client: GreengrassCoreIPCClientV2, topic: str, qos: str, payload: bytes) -> Callable[[], Any]:
    return lambda: client.publish_to_iot_core(topic_name=topic, qos=qos, payload=payload) and "published"


def basics(client: GreengrassCoreIPCClientV2) -> dict:
    updates: list[list[str]] = []
    updated = threading.Event()
    received: list[dict] = []
    got_local = threading.Event()

    def on_update(event: model.ConfigurationUpdateEvents) -> None:
        updates.append(event.configuration_update_event.key_path)
        updated.set()

    def on_local(event: model.SubscriptionResponseMessage) -> None:
        received.append(event.json_message.message)
        got_local.set()

    result = {
        "publish": attempt(publish(client, ALLOWED_TOPIC, "1", b'{"probe": 1}')),
        "publish_elsewhere": attempt(publish(client, "elsewhere/probe", "0", b"{}")),
        "get_configuration": attempt(lambda: client.get_configuration(key_path=[]).value),
        "get_leaf": attempt(lambda: client.get_configuration(key_path=["threshold"]).value),
        "subscribe_updates": attempt(lambda: client.subscribe_to_configuration_update(
            key_path=[], on_stream_event=on_update) and "subscribed"),
        "update": attempt(lambda: client.update_configuration(
            key_path=["nested"], value_to_merge={"a": 5}, timestamp=datetime.datetime.now()) and "updated"),
    }
    result["update_event"] = updates[0] if updated.wait(TIMEOUT_S) else None
    result["after_update"] = attempt(lambda: client.get_configuration(key_path=["nested", "a"]).value)
    result["subscribe_local"] = attempt(lambda: client.subscribe_to_topic(
        topic="local/probe", on_stream_event=on_local) and "subscribed")
    result["publish_local"] = attempt(lambda: client.publish_to_topic(topic="local/probe", publish_message=(
        model.PublishMessage(json_message=model.JsonMessage(message={"hello": "local"})))) and "published")
    result["local_received"] = received[0] if got_local.wait(TIMEOUT_S) else None
    result["update_state"] = attempt(lambda: client.update_state(state="RUNNING") and "updated")
    result["get_secret"] = attempt(lambda: client.get_secret_value(
        secret_id="arn:aws:secretsmanager:us-west-2:123456789012:secret:probe-AbC123").secret_value.secret_string)
    result["subscribe_validation"] = attempt(lambda: client.subscribe_to_validate_configuration_updates(
        on_stream_event=lambda event: None) and "subscribed")
    return result


def connect_accepted(version: str | None) -> bool:
    """Whether the nucleus accepts a CONNECT with this SVCUID and ``:version`` header (None: no header)."""
    headers = {} if version is None else {":version": version}
    connect = es.rpc_message(es.MessageType.CONNECT, payload=json.dumps({"authToken": os.environ["SVCUID"]}).encode(),
                             extra=headers)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(os.environ["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"])
        sock.sendall(connect)
        prelude = sock.recv(es.PRELUDE_LEN, socket.MSG_WAITALL)
        if len(prelude) < es.PRELUDE_LEN:
            return False  # closed without an answer
        reply = es.decode(prelude + sock.recv(es.parse_prelude(prelude) - es.PRELUDE_LEN, socket.MSG_WAITALL))
    return reply.message_type == es.MessageType.CONNECT_ACK and bool(reply.flags & es.Flag.CONNECTION_ACCEPTED)


def strict(client: GreengrassCoreIPCClientV2) -> dict:
    """What a Java nucleus refuses: MQTT wildcards in a pubsub grant, UpdateConfiguration without timestamp or
    of accessControl, another component's configuration by name, the CONNECT :version."""
    message = model.PublishMessage(json_message=model.JsonMessage(message={"strict": 1}))
    return {
        "subscribe_literal_plus": attempt(lambda: client.subscribe_to_topic(
            topic=LITERAL_PLUS, on_stream_event=lambda event: None) and "subscribed"),
        "publish_under_plus": attempt(lambda: client.publish_to_topic(
            topic=LITERAL_PLUS.replace("+", "x"), publish_message=message) and "published"),
        "update_without_timestamp": attempt(lambda: client.update_configuration(
            key_path=["nested"], value_to_merge={"a": 6}) and "updated"),
        "update_access_control": attempt(lambda: client.update_configuration(
            key_path=["accessControl"], value_to_merge={}, timestamp=datetime.datetime.now()) and "updated"),
        "get_other": attempt(lambda: client.get_configuration(component_name=OTHER, key_path=["shared"]).value),
        "get_missing_component": attempt(lambda: client.get_configuration(component_name=OTHER + "Missing").value),
        "connect": {str(v): attempt(lambda v=v: connect_accepted(v)) for v in ("0.1.0", "0.2.0", None)},
    }


def offline(client: GreengrassCoreIPCClientV2) -> dict:
    """Publishes while the broker standing in for IoT Core is down."""
    return {"qos0": attempt(publish(client, ALLOWED_TOPIC, "0", b'{"offline": 0}')),
            "qos1": attempt(publish(client, ALLOWED_TOPIC, "1", b'{"offline": 1}'))}


SCENARIOS = {"basics": basics, "offline": offline, "strict": strict}


def main() -> int:
    scenario, out = sys.argv[1], sys.argv[2]
    client = GreengrassCoreIPCClientV2()
    try:
        result = SCENARIOS[scenario](client)
    finally:
        client.close()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
