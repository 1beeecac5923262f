"""A component process that runs one IPC scenario with GreengrassCoreIPCClientV2 and writes what it saw.

Run the same way under gg-ipc-local (its printed environment) and under nucleus lite (recipe-runner), so
the conformance tests compare two nuclei, not two clients. ``python probe_component.py SCENARIO OUT.json``.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
from typing import Any, Callable

from awsiot.greengrasscoreipc import model
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

ALLOWED_TOPIC = "people/probe-thing/probe"
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


def offline(client: GreengrassCoreIPCClientV2) -> dict:
    """Publishes while the broker standing in for IoT Core is down."""
    return {"qos0": attempt(publish(client, ALLOWED_TOPIC, "0", b'{"offline": 0}')),
            "qos1": attempt(publish(client, ALLOWED_TOPIC, "1", b'{"offline": 1}'))}


SCENARIOS = {"basics": basics, "offline": offline}


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
