"""gg-ipc-local refuses what the Java nucleus refuses: each rule with its source (aws-greengrass-nucleus v2.18.2
unless named otherwise; the citations beside the code say more)."""

from __future__ import annotations

import datetime
import json
import os
import socket
import stat
import threading

import pytest
from awsiot.greengrasscoreipc import model
from gg_ipc_local import eventstream as es
from gg_ipc_local.config_store import ComponentConfiguration
from gg_ipc_local.recipe import MQTT_PROXY, PUBSUB, SECRET_MANAGER, Recipe
from gg_ipc_local.secret_store import Secret, SecretStore
from gg_ipc_support import TOKEN, IpcServer
from support import wait_for

OLD_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:old-AbC123"
NEW_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:new-XyZ789"
OPERATION = {MQTT_PROXY: "aws.greengrass#PublishToIoTCore", PUBSUB: "aws.greengrass#PublishToTopic",
             SECRET_MANAGER: "aws.greengrass#GetSecretValue"}


def allowed(service: str, resource: str, requested: str) -> bool:
    policy = {"p": {"operations": [OPERATION[service]], "resources": [resource]}}
    return Recipe("c", {"accessControl": {service: policy}}).authorized(service, OPERATION[service], requested)


# -- authorisation: WildcardTrie.matchesMQTT for mqttproxy, matchesStandard for the rest ---------------------


@pytest.mark.parametrize(("resource", "requested", "mqtt", "standard"), [
    ("a/+/c", "a/b/c", True, False),  # + is a level wildcard only in mqttproxy grants
    ("a/+/c", "a/+/c", True, True),  # ... and a literal character elsewhere
    ("a/#", "a/b/c", True, False),
    ("a/#", "a", True, False),  # WildcardTrie.java:288-295: "abc/#" matches "abc"
    ("a/#", "a/#", True, True),
    ("#", "x/y", True, False),
    ("a/*", "a/b/c", True, True),  # * spans levels in both
    ("a/*/c", "a/b/x/c", True, True),
    ("*", "anything/at/all", True, True),
    ("a+/b", "ax/b", False, False),  # + not alone in its level: literal (WildcardTrie.java:140-145)
    ("a+/b", "a+/b", True, True),
    ("a/b#", "a/bx", False, False),  # # not after /: literal (:116-123)
    ("a/${*}", "a/*", True, True),  # ${c} escapes (:148-179; developer guide "Wildcards in resources")
    ("a/${*}", "a/b", False, False),
    ("${$}{x}", "${x}", True, True),
    ("a/${?}", "a/?", True, True),
    ("a/?", "a/?", False, False),  # a bare ? leaves the resource out (AuthorizationModule.java:88-91)
    ("a/${x}", "a/${x}", False, False),  # so does an escape of anything but * $ ? (:75-84)
    ("a/${*", "a/${*", False, False),
])
def test_resources_match_as_the_nucleus_matches_them(resource, requested, mqtt, standard):
    assert allowed(MQTT_PROXY, resource, requested) is mqtt
    assert allowed(PUBSUB, resource, requested) is standard
    assert allowed(SECRET_MANAGER, resource, requested) is standard


def test_an_invalid_resource_is_left_out_and_logged_once(caplog):
    policy = {"p": {"operations": ["*"], "resources": ["bad?one", "local/ok"]}}
    recipe = Recipe("c", {"accessControl": {PUBSUB: policy}})
    for _ in range(3):
        assert recipe.authorized(PUBSUB, OPERATION[PUBSUB], "local/ok")
        assert not recipe.authorized(PUBSUB, OPERATION[PUBSUB], "bad?one")
    assert caplog.text.count("'bad?one' is left out") == 1


@pytest.fixture
def ipc(tmp_path):
    secrets = SecretStore({arn: Secret(arn, f"value of {arn[-10:]}", "v1") for arn in (OLD_ARN, NEW_ARN)})
    server = IpcServer(tmp_path, {"threshold": 0.5, "camera_id": "cam-1"}, secrets=secrets)
    server.start(configuration={"accessControl": {SECRET_MANAGER: {"s": {
        "operations": ["aws.greengrass#GetSecretValue"], "resources": [OLD_ARN]}}}})
    yield server
    server.close()


def test_local_publish_checks_authorisation_then_wildcards(client):
    """PubSubIPCEventStreamAgent.java:234-241 authorises first, then :137-140 refuses + # * in the topic."""
    message = model.PublishMessage(json_message=model.JsonMessage(message={}))
    with pytest.raises(model.InvalidArgumentsError) as refused:
        client.publish_to_topic(topic="local/a*", publish_message=message)  # granted by local/*
    assert refused.value.message == "Publish topic must not contain a wildcard."
    with pytest.raises(model.UnauthorizedError):
        client.publish_to_topic(topic="elsewhere/+", publish_message=message)


# -- CONNECT and the socket -----------------------------------------------------------------------------------


def connect_ack_flags(path: str, version: str | None) -> int:
    """The flags of the CONNECT_ACK answering a CONNECT with this ``:version`` header (None: no header)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(es.rpc_message(es.MessageType.CONNECT, payload=json.dumps({"authToken": TOKEN}).encode(),
                                    extra={} if version is None else {":version": version}))
        prelude = sock.recv(es.PRELUDE_LEN, socket.MSG_WAITALL)
        reply = es.decode(prelude + sock.recv(es.parse_prelude(prelude) - es.PRELUDE_LEN, socket.MSG_WAITALL))
    assert reply.message_type == es.MessageType.CONNECT_ACK
    return reply.flags


@pytest.mark.parametrize(("version", "accepted"), [
    ("0.1.0", True), ("00.1.00", True), (None, False), ("0.2.0", False), ("0.1", False), ("v0.1.0", False)])
def test_connect_needs_protocol_version_0_1_0(ipc, version, accepted):
    """ServiceOperationMappingContinuationHandler.java:79-85 (aws-iot-device-sdk-java-v2): numbers compared."""
    assert bool(connect_ack_flags(ipc.socket_path, version) & es.Flag.CONNECTION_ACCEPTED) is accepted


def test_socket_is_read_write_for_everyone(ipc):
    """Permissions.java:140-148: rw for all, no execute (nucleus lite: 0666 as well)."""
    assert stat.S_IMODE(os.stat(ipc.socket_path).st_mode) == 0o666


# -- configuration ----------------------------------------------------------------------------------------------


def test_update_configuration_needs_a_timestamp_and_leaves_access_control_alone(ipc, client):
    """ConfigStoreIPCEventStreamAgent.java:312-328."""
    with pytest.raises(model.InvalidArgumentsError) as refused:
        client.update_configuration(key_path=[], value_to_merge={"threshold": 0.9})
    assert refused.value.message == "Timestamp is required"
    for key_path, value in (([], {"accessControl": {}}), (["accessControl"], {PUBSUB: {}})):
        with pytest.raises(model.InvalidArgumentsError) as refused:
            client.update_configuration(key_path=key_path, value_to_merge=value, timestamp=datetime.datetime.now())
        assert refused.value.message == "Config update is not allowed for following fields ['accessControl']"
    assert ipc.server.configuration.data["threshold"] == 0.5
    assert set(ipc.server.configuration.data["accessControl"]) == {MQTT_PROXY, PUBSUB, SECRET_MANAGER}


def test_configuration_of_another_component(ipc, client):
    """Any component's configuration is readable by name; unknown ones are "Key not found" (:187-213)."""
    ipc.server.other_components = {"com.example.Other": ComponentConfiguration({"shared": {"k": "v"}})}
    answer = client.get_configuration(component_name="com.example.Other", key_path=["shared", "k"])
    assert (answer.component_name, answer.value) == ("com.example.Other", {"k": "v"})
    for name, path in (("com.example.Missing", []), ("com.example.Other", ["nope"]), (None, ["nope"])):
        with pytest.raises(model.ResourceNotFoundError) as missing:
            client.get_configuration(component_name=name, key_path=path)
        assert missing.value.message == "Key not found"
    with pytest.raises(model.ResourceNotFoundError):  # :386-389: no subscription to a key that is not there
        client.subscribe_to_configuration_update(key_path=["nope"], on_stream_event=lambda _event: None)
    client.subscribe_to_configuration_update(component_name="com.example.Other", key_path=["shared"],
                                             on_stream_event=lambda _event: None)


# -- deployments -----------------------------------------------------------------------------------------------


def test_reset_paths_go_back_to_the_recipe_defaults_before_the_merge(ipc, client):
    """KernelConfigResolver.java:374-391: reset, then defaults fill what is missing, then the merge."""
    events: list = []
    client.subscribe_to_configuration_update(key_path=[], on_stream_event=events.append)
    assert ipc.server.deploy({"threshold": 0.8, "extra": {"a": 1}}, timeout=5).succeeded
    assert ipc.server.deploy({"camera_id": "cam-2"}, timeout=5, reset=["/threshold"]).succeeded
    data = ipc.server.configuration.data
    assert (data["threshold"], data["camera_id"], data["extra"]) == (0.5, "cam-2", {"a": 1})
    assert ipc.server.deploy({}, timeout=5, reset=["/extra/a", "/accessControl/aws.greengrass.SecretManager"]).succeeded
    assert "extra" in data and ipc.server.configuration.data["extra"] == {}
    assert SECRET_MANAGER not in ipc.server.configuration.data["accessControl"]
    assert ipc.server.deploy({}, timeout=5, reset=[""]).succeeded
    assert ipc.server.configuration.data == ipc.recipe.default_configuration
    wait_for(lambda: ["extra"] in [e.configuration_update_event.key_path for e in events], 10,
             what="the removed key's update event")
    refused = ipc.server.deploy({}, timeout=5, reset=["threshold"])
    assert refused.status == "FAILED_NO_STATE_CHANGE" and "JSON pointer" in refused.message


def test_a_version_change_is_not_validated(ipc, client):
    """DynamicComponentConfigurationValidator.java:90-95, :123-128: the component restarts instead."""
    asked: list = []
    client.subscribe_to_validate_configuration_updates(on_stream_event=asked.append)
    assert ipc.server.deploy({"threshold": 0.7}, timeout=5, version_change=True).succeeded
    assert ipc.server.configuration.data["threshold"] == 0.7 and asked == []
    assert ipc.server.deploy({"threshold": 0.6}, timeout=0.5).status == "FAILED_NO_STATE_CHANGE", "no report"


def test_validation_runs_under_the_old_access_control(ipc, client):
    """DeploymentConfigMerger.java:149-153 validates before the merge at :229, and AuthorizationHandler.java:
    147-199 reloads policies only from the merged configuration: a secret that only the proposed accessControl
    grants is refused while validating, and served once the deployment has merged."""
    during: list = []
    done = threading.Event()

    def on_validate(event: model.ValidateConfigurationUpdateEvents) -> None:
        request = event.validate_configuration_update_event
        proposed = request.configuration["accessControl"][SECRET_MANAGER]["s"]["resources"][0]

        def reported(future) -> None:
            during.append(type(future.exception()).__name__ if future.exception() else "served")
            client.send_configuration_validity_report_async(configuration_validity_report=(
                model.ConfigurationValidityReport(status="ACCEPTED", deployment_id=request.deployment_id)))
            done.set()

        client.get_secret_value_async(secret_id=proposed).add_done_callback(reported)

    client.subscribe_to_validate_configuration_updates(on_stream_event=on_validate)
    grant = {SECRET_MANAGER: {"s": {"operations": ["aws.greengrass#GetSecretValue"], "resources": [NEW_ARN]}}}
    result = ipc.server.deploy({"accessControl": grant}, timeout=10, reset=["/accessControl"])
    assert result.succeeded, result.message
    assert done.is_set() and during == ["UnauthorizedError"]
    assert client.get_secret_value(secret_id=NEW_ARN).secret_value.secret_string.endswith("new-XyZ789")
    with pytest.raises(model.UnauthorizedError):  # the reset removed the old grant
        client.get_secret_value(secret_id=OLD_ARN)
