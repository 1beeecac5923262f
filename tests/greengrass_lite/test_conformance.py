"""The same component scenarios against gg-ipc-local and against AWS's nucleus lite.

``probe_component.py`` runs with GreengrassCoreIPCClientV2 as a component process: under gg-ipc-local
with the environment it prints, under nucleus lite through recipe-runner (which issues a real SVCUID).
Where the nuclei must agree the assertions are shared; where they differ, the test names the difference.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml
from gg_ipc_local.recipe import MQTT_PROXY, PUBSUB, SECRET_MANAGER, Recipe
from gg_ipc_local.secret_store import SecretStore
from gg_ipc_local.server import LocalIpcServer
from gg_ipc_local.sinks import MqttSink
from lite_bed import TlsSubscriber, running_nucleus
from nucleus import component_service
from probe_component import ALLOWED_TOPIC, LITERAL_PLUS, OTHER
from support import Mosquitto, Subscriber, wait_for

PROBE = Path(__file__).with_name("probe_component.py")
NAME, VERSION = "com.example.Probe", "1.0.0"
SECRET_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:probe-AbC123"
TOKEN = "conformance-svcuid"
#: Wildcards rather than {iot:thingName}: the Java nucleus resolves recipe variables only when
#: interpolateComponentConfiguration is true (see gg_ipc_local.recipe), so portable recipes avoid them.
CONFIGURATION = {
    "greeting": "hello", "threshold": 0.5, "nested": {"a": 1},
    "accessControl": {
        MQTT_PROXY: {f"{NAME}:mqttproxy:1": {"operations": ["aws.greengrass#PublishToIoTCore"],
                                             "resources": ["people/+/probe"]}},
        PUBSUB: {f"{NAME}:pubsub:1": {"operations": ["aws.greengrass#PublishToTopic",
                                                     "aws.greengrass#SubscribeToTopic"],
                                      # no MQTT wildcards in pubsub grants (gg_ipc_local.recipe): a literal +
                                      "resources": ["local/*", LITERAL_PLUS]}},
        SECRET_MANAGER: {f"{NAME}:secrets:1": {"operations": ["aws.greengrass#GetSecretValue"],
                                               "resources": [SECRET_ARN]}},
    },
}
#: Another component's configuration, which GetConfiguration reads by componentName on both nuclei.
OTHER_CONFIGURATION = {"shared": {"k": "v"}}


@dataclass
class Nucleus:
    """One nucleus flavour as the tests drive it."""

    flavour: str  # "gg-ipc-local" (Java-nucleus behaviour) or "nucleus-lite"
    run: Callable[[str], dict]  # scenario name -> what the probe saw
    received: Callable[[], list[dict]]  # JSON payloads that reached the broker on ALLOWED_TOPIC
    stop_broker: Callable[[], None]
    start_broker: Callable[[], None]
    iot_online: Callable[[], bool]
    socket_path: str


def probe_command(scenario: str, out: Path) -> list[str]:
    return [sys.executable, str(PROBE), scenario, str(out)]


@pytest.fixture(scope="module")
def local_nucleus(tmp_path_factory) -> Iterator[Nucleus]:
    workdir = tmp_path_factory.mktemp("gg-ipc-local")
    broker = Mosquitto(workdir).start()
    recipe_path = workdir / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump({"ComponentName": NAME,
                                           "ComponentConfiguration": {"DefaultConfiguration": CONFIGURATION}}))
    socket_dir = Path(tempfile.mkdtemp(prefix="ggipc-"))
    sink = MqttSink(broker.url)
    server = LocalIpcServer(str(socket_dir / "ipc.socket"), TOKEN, Recipe.load(recipe_path), sinks=[sink],
                            secrets=SecretStore.load(_secrets_file(workdir)),
                            other_components={OTHER: OTHER_CONFIGURATION}).start()
    subscriber = Subscriber(broker.port, ALLOWED_TOPIC)

    def run(scenario: str) -> dict:
        out = workdir / f"{scenario}.json"
        env = {**os.environ, "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": server.socket_path,
               "SVCUID": TOKEN}
        done = subprocess.run(probe_command(scenario, out), env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(out.read_text())

    yield Nucleus("gg-ipc-local", run, lambda: list(subscriber.messages), broker.stop, broker.start,
                  lambda: sink.online, server.socket_path)
    subscriber.close()
    server.stop()
    broker.stop()


def _secrets_file(workdir: Path) -> Path:
    path = workdir / "secrets.json"
    path.write_text(json.dumps({SECRET_ARN: {"SecretString": "probe-secret"}}))
    return path


@pytest.fixture(scope="module")
def lite_nucleus(nucleus_bin) -> Iterator[Nucleus]:
    services = {NAME: component_service(VERSION, CONFIGURATION), OTHER: component_service(VERSION, OTHER_CONFIGURATION)}
    with running_nucleus(nucleus_bin, services) as nucleus:
        subscriber = TlsSubscriber(nucleus.certs, ALLOWED_TOPIC)

        def run(scenario: str) -> dict:
            out = nucleus.runtime / f"{scenario}.json"
            recipe = {"RecipeFormatVersion": "2020-01-25", "ComponentName": NAME, "ComponentVersion": VERSION,
                      "Manifests": [{"Platform": {"os": "linux", "runtime": "*"},
                                     "Lifecycle": {"Run": " ".join(probe_command(scenario, out))}}]}
            component = nucleus.run_component(NAME, VERSION, recipe)
            code = component.wait(120)
            component.stop()
            assert code == 0 and out.exists(), component.output()[-3000:]
            return json.loads(out.read_text())

        yield Nucleus("nucleus-lite", run, lambda: subscriber.json(), nucleus.stop_broker,
                      nucleus.start_broker, nucleus.iot_connected, str(nucleus.socket_path))
        subscriber.close()


@pytest.fixture(scope="module", params=["gg-ipc-local", "nucleus-lite"])
def nucleus(request) -> Nucleus:
    return request.getfixturevalue("local_nucleus" if request.param == "gg-ipc-local" else "lite_nucleus")


@pytest.fixture(scope="module")
def basics(nucleus) -> dict:
    return nucleus.run("basics")


# -- where both nuclei must agree ---------------------------------------------------------------


def test_publish_to_iot_core_arrives_at_the_broker(nucleus, basics):
    assert basics["publish"] == {"ok": "published"}
    wait_for(lambda: {"probe": 1} in nucleus.received(), 10, what="the probe's message at the broker")


def test_topic_outside_access_control_is_unauthorized(basics):
    assert basics["publish_elsewhere"]["error"] == "UnauthorizedError"


def test_get_configuration(nucleus, basics):
    value = basics["get_configuration"]["ok"]
    assert value["greeting"] == "hello" and value["nested"]["a"] in (1, "1")
    assert set(value["accessControl"]) == {MQTT_PROXY, PUBSUB, SECRET_MANAGER}
    # Difference: numbers from the nucleus configuration file come back as strings on nucleus lite.
    assert basics["get_leaf"]["ok"] == ({"threshold": "0.5"} if nucleus.flavour == "nucleus-lite"
                                        else {"threshold": 0.5})


def test_update_configuration_notifies_the_subscriber(basics):
    assert basics["subscribe_updates"] == {"ok": "subscribed"} and basics["update"] == {"ok": "updated"}
    assert basics["update_event"] == ["nested", "a"]
    assert basics["after_update"] == {"ok": {"a": 5}}, "values written over IPC keep their type on both"


def test_local_pubsub(basics):
    assert basics["subscribe_local"] == {"ok": "subscribed"} and basics["publish_local"] == {"ok": "published"}
    assert basics["local_received"] == {"hello": "local"}


@pytest.fixture(scope="module")
def strict(nucleus) -> dict:
    return nucleus.run("strict")


def test_pubsub_grants_take_no_mqtt_wildcards(strict):
    """Java: PubSubIPCEventStreamAgent.java:329-332 matches STANDARD (WildcardTrie.matchesStandard, + literal);
    lite: ipc_authz.c ggl_ipc_default_policy_matcher (only * is a wildcard)."""
    assert strict["subscribe_literal_plus"] == {"ok": "subscribed"}, "the grant names this filter literally"
    assert strict["publish_under_plus"]["error"] == "UnauthorizedError", "the + in the grant is no wildcard"


def test_update_configuration_needs_a_timestamp_and_cannot_write_access_control(strict):
    """Java: ConfigStoreIPCEventStreamAgent.java:312-328; lite: update_configuration.c (timestamp required,
    accessControl refused)."""
    assert strict["update_without_timestamp"]["error"] == "InvalidArgumentsError"
    assert strict["update_access_control"]["error"] == "InvalidArgumentsError"


def test_configuration_of_another_component(nucleus, strict):
    """Java: ConfigStoreIPCEventStreamAgent.java:187-213 (no authorisation, "Key not found" when unknown);
    lite: get_configuration.c (its message does not reach the client)."""
    assert strict["get_other"] == {"ok": OTHER_CONFIGURATION["shared"]}
    assert strict["get_missing_component"]["error"] == "ResourceNotFoundError"
    if nucleus.flavour == "gg-ipc-local":
        assert strict["get_missing_component"]["message"] == "Key not found"


def test_the_socket_is_read_write_for_everyone(nucleus):
    """Java: Permissions.java:140-148; lite: ipc_server.c:535-537 (0666)."""
    assert stat.S_IMODE(os.stat(nucleus.socket_path).st_mode) == 0o666


# -- where they differ: named, each asserted as it is ---------------------------------------------


def test_update_state_secrets_and_validation(nucleus, basics):
    if nucleus.flavour == "gg-ipc-local":
        assert basics["update_state"] == {"ok": "updated"}
        assert basics["get_secret"] == {"ok": "probe-secret"}
        assert basics["subscribe_validation"] == {"ok": "subscribed"}
    else:
        # Nucleus lite: UpdateState needs gghealthd and systemd (ServiceError here); GetSecretValue and
        # SubscribeToValidateConfigurationUpdates are in none of ggipcd's services (src/services/*), so its
        # dispatcher answers ServiceError ("Unhandled operation requested", ggipcd/src/ipc_dispatch.c:86):
        # a component must treat validation as optional, and a deployment to lite is never validated.
        for key in ("update_state", "get_secret", "subscribe_validation"):
            assert basics[key]["error"] == "ServiceError", key


def test_publishing_while_the_broker_is_down(nucleus, basics):
    """Java nucleus (and gg-ipc-local): QoS 0 refused, QoS 1 spooled and delivered later. Lite: both refused."""
    nucleus.stop_broker()
    try:
        wait_for(lambda: not nucleus.iot_online(), 30, what="the nucleus to notice the broker is gone")
        offline = nucleus.run("offline")
    finally:
        nucleus.start_broker()
    wait_for(nucleus.iot_online, 30, what="the nucleus to reconnect")
    assert offline["qos0"]["error"] == "ServiceError"
    if nucleus.flavour == "gg-ipc-local":
        assert offline["qos1"] == {"ok": "published"}
        wait_for(lambda: {"offline": 1} in nucleus.received(), 30, what="the spooled QoS 1 message")
    else:
        assert offline["qos1"]["error"] == "ServiceError"
    assert {"offline": 0} not in nucleus.received()


def test_connect_protocol_version(nucleus, strict):
    """Both accept 0.1.0 and refuse another version. Difference: a CONNECT without ``:version`` is refused by the
    Java nucleus's RPC server (ServiceOperationMappingContinuationHandler.java:79-85, aws-iot-device-sdk-java-v2)
    and by gg-ipc-local, accepted by nucleus lite (ggipcd/src/ipc_server.c:128-140 checks it only when present)."""
    assert strict["connect"]["0.1.0"] == {"ok": True} and strict["connect"]["0.2.0"] == {"ok": False}
    assert strict["connect"]["None"] == {"ok": nucleus.flavour == "nucleus-lite"}
