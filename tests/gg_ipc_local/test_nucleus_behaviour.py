"""Where gg-ipc-local follows the Java nucleus: offline publishing, deployment validation, secrets, interpolation.

Each behaviour and its source are documented in the module that implements it (spool, deployment,
operations.secrets, recipe).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from awsiot.greengrasscoreipc import model
from gg_ipc_local.recipe import SECRET_MANAGER
from gg_ipc_local.secret_store import SecretStore
from gg_ipc_local.sinks import MqttSink
from gg_ipc_local.spool import IotCoreLink, PublishRefused
from gg_ipc_support import IpcServer, threshold_problem, validate_with
from local_stack.services import free_port
from support import Subscriber, wait_for

TOPIC = "people/thing-1/cam-1"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:influx-token-AbC123"
OTHER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-XyZ789"


@pytest.fixture
def served(tmp_path, mosquitto):
    """A server forwarding to a real broker (and the JSON-lines file), with one client."""
    server = IpcServer(tmp_path, {"threshold": 0.5}, sinks=[MqttSink(mosquitto.url)]).start()
    client = server.client()
    yield server, client
    client.close()
    server.close()


def test_offline_qos0_is_refused_and_qos1_spooled_until_the_broker_is_back(served, mosquitto):
    server, client = served
    client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b'{"n": 0}')
    mosquitto.stop()
    wait_for(lambda: not server.server.iot_core.online, 10, what="the sink to notice the broker is gone")
    with pytest.raises(model.ServiceError) as refused:
        client.publish_to_iot_core(topic_name=TOPIC, qos="0", payload=b'{"dropped": true}')
    assert refused.value.message == f"Publish to topic {TOPIC} failed: Device is offline. Dropping QoS 0 message."
    for n in range(1, 4):  # answered at once, as the nucleus answers once the message is spooled
        client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=json.dumps({"n": n}).encode())
    assert server.server.iot_core.spooled == 3
    subscriber = None
    mosquitto.start()
    try:
        subscriber = Subscriber(mosquitto.port, TOPIC)
        wait_for(lambda: server.server.iot_core.spooled == 0, 20, what="the spool to drain")
        client.publish_to_iot_core(topic_name=TOPIC, qos="1", payload=b'{"n": 4}')
        assert [json.loads(r["payload"]) for r in server.records()] == [{"n": n} for n in range(5)], \
            "each spooled message once, in order, the dropped QoS 0 one never"
    finally:
        if subscriber:
            subscriber.close()


def test_the_spool_is_bounded(tmp_path):
    async def scenario() -> list[str]:
        link = IotCoreLink([MqttSink(f"mqtt://127.0.0.1:{free_port()}", connect_wait=0.1)], spool_bytes=1000)
        errors = []
        for size in (400, 400, 400, 2000):
            try:
                await link.publish("t", b"x" * size, 1)
            except PublishRefused as exc:
                errors.append(str(exc))
        spooled = link.spooled
        await link.close()
        return [*errors, f"spooled {spooled}"]

    assert asyncio.run(scenario()) == ["Message spool is full. Message could not be added.",
                                       "Message is larger than the size of message spool.", "spooled 2"]


@pytest.fixture
def ipc(tmp_path):
    server = IpcServer(tmp_path, {"threshold": 0.5, "camera_id": "cam-1"}).start()
    yield server
    server.close()


def test_a_deployment_is_applied_only_when_the_component_accepts_it(ipc):
    updates: list = []
    client = ipc.client()
    validate_with(client, threshold_problem)
    client.subscribe_to_configuration_update(key_path=[], on_stream_event=updates.append)
    try:
        refused = ipc.server.deploy({"threshold": 2}, timeout=10)
        assert refused.status == "FAILED_NO_STATE_CHANGE"
        assert refused.message == ("Components reported that their to-be-deployed configuration is invalid "
                                   "{ name = com.example.PeopleCounter, message = threshold must be in (0, 1], got 2 }")
        assert client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.5}
        accepted = ipc.server.deploy({"threshold": 0.8}, timeout=10)
        assert accepted.succeeded, accepted.message
        assert client.get_configuration(key_path=["threshold"]).value == {"threshold": 0.8}
        wait_for(lambda: updates, 10, what="the configuration update event")
        assert [u.configuration_update_event.key_path for u in updates] == [["threshold"]]
    finally:
        client.close()


def test_validation_timeout_and_stray_reports(ipc):
    silent = ipc.client()
    try:
        silent.subscribe_to_validate_configuration_updates(on_stream_event=lambda event: None)
        result = ipc.server.deploy({"threshold": 0.9}, timeout=0.5)
        assert result.status == "FAILED_NO_STATE_CHANGE" and "no report within 0.5 s" in result.message
        assert ipc.server.configuration.data["threshold"] == 0.5
        with pytest.raises(model.InvalidArgumentsError) as stray:
            silent.send_configuration_validity_report(configuration_validity_report=model.ConfigurationValidityReport(
                status="ACCEPTED", deployment_id=result.deployment_id))
        assert stray.value.message == "Validation request either timed out or was never made"
    finally:
        silent.close()
    wait_for(lambda: not ipc.server.subscriptions, 10, what="the server to drop the closed client's streams")
    assert ipc.server.deploy({"threshold": 0.9}, timeout=0.5).succeeded, "no validator subscribed: applied"


def test_get_secret_value_by_arn_or_name_within_access_control(tmp_path):
    (tmp_path / "secrets.json").write_text(json.dumps({ARN: {"SecretString": "s3cr3t"},
                                                       OTHER_ARN: {"SecretString": "no"}}))
    policy = {"p": {"operations": ["aws.greengrass#GetSecretValue"], "resources": [ARN]}}
    server = IpcServer(tmp_path, secrets=SecretStore.load(tmp_path / "secrets.json"))
    server.start(configuration={"accessControl": {SECRET_MANAGER: policy}})
    client = server.client()
    try:
        for secret_id in (ARN, "influx-token"):
            answer = client.get_secret_value(secret_id=secret_id)
            assert (answer.secret_id, answer.secret_value.secret_string, answer.version_stage) == (
                ARN, "s3cr3t", ["AWSCURRENT"])
        with pytest.raises(model.UnauthorizedError):
            client.get_secret_value(secret_id=OTHER_ARN)
        with pytest.raises(model.UnauthorizedError):
            client.get_secret_value(secret_id="missing")
    finally:
        client.close()
        server.close()


def test_thing_name_variable_is_literal_without_interpolation(tmp_path):
    server = IpcServer(tmp_path, interpolate=False).start()
    client = server.client()
    try:
        with pytest.raises(model.UnauthorizedError):
            client.publish_to_iot_core(topic_name=TOPIC, qos="0", payload=b"{}")
    finally:
        client.close()
        server.close()
