"""Helpers for tests that talk Greengrass IPC: a recipe, a real local IPC server, real SDK clients."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

pytest.importorskip("awsiot.greengrasscoreipc", reason="the greengrass extra is not installed")

from gg_ipc_local.recipe import Recipe
from gg_ipc_local.secret_store import SecretStore
from gg_ipc_local.server import LocalIpcServer
from gg_ipc_local.sinks import JsonLinesSink, Sink

COMPONENT = "com.example.PeopleCounter"
TOKEN = "test-svcuid-token"


def write_recipe(directory: Path, configuration: dict[str, Any] | None = None) -> Path:
    """A recipe allowing IoT Core topics people/{iot:thingName}/... and local pub/sub under local/."""
    recipe = {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": COMPONENT,
        "ComponentConfiguration": {"DefaultConfiguration": {
            **(configuration or {}),
            "accessControl": {
                "aws.greengrass.ipc.mqttproxy": {f"{COMPONENT}:mqttproxy:1": {
                    "operations": ["aws.greengrass#PublishToIoTCore"],
                    "resources": ["people/{iot:thingName}/*"]}},
                "aws.greengrass.ipc.pubsub": {f"{COMPONENT}:pubsub:1": {
                    "operations": ["aws.greengrass#PublishToTopic", "aws.greengrass#SubscribeToTopic"],
                    "resources": ["local/*"]}},  # pubsub grants take no MQTT wildcards: * glob
            },
        }},
    }
    path = directory / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


class IpcServer:
    """A LocalIpcServer on a short socket path (Unix paths are limited to 108 bytes), restartable.

    The recipe's ``{iot:thingName}`` resources resolve as on a nucleus configured with
    ``interpolateComponentConfiguration: true`` (``interpolate=False`` gives the Java default).
    """

    def __init__(self, directory: Path, configuration: dict[str, Any] | None = None,
                 sinks: list[Sink] | None = None, interpolate: bool = True,
                 secrets: SecretStore | None = None) -> None:
        self.socket_dir = Path(tempfile.mkdtemp(prefix="ggipc-"))
        self.socket_path = str(self.socket_dir / "ipc.socket")
        self.jsonl = directory / "iotcore.jsonl"
        self.recipe = Recipe.load(write_recipe(directory, configuration), thing_name="thing-1",
                                  interpolate=interpolate)
        self.extra_sinks = sinks or []
        self.secrets = secrets
        self.server: LocalIpcServer | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": self.socket_path, "SVCUID": TOKEN,
                "AWS_IOT_THING_NAME": "thing-1"}

    def start(self, configuration: dict[str, Any] | None = None) -> IpcServer:
        """Start (again); a restart keeps the configuration unless one is given."""
        if configuration is None and self.server is not None:
            configuration = self.server.configuration.data
        self.server = LocalIpcServer(self.socket_path, TOKEN, self.recipe, configuration=configuration,
                                     sinks=[JsonLinesSink(str(self.jsonl)), *self.extra_sinks],
                                     secrets=self.secrets).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def records(self) -> list[dict]:
        if not self.jsonl.exists():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def client(self, token: str = TOKEN):
        return connect_client(self.socket_path, token)


def connect_client(socket_path: str, token: str):
    """The real SDK client, connected the way a component connects."""
    import awsiot.greengrasscoreipc as ipc
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2

    return GreengrassCoreIPCClientV2(client=ipc.connect(ipc_socket=socket_path, authtoken=token, timeout=10))


def validate_with(client, problem: Callable[[dict], str | None]) -> None:
    """Make ``client`` answer configuration validation requests: REJECTED with ``problem(configuration)``
    when it returns a message, else ACCEPTED (what a component does in SubscribeToValidateConfigurationUpdates)."""
    from awsiot.greengrasscoreipc import model

    def on_validate(event: model.ValidateConfigurationUpdateEvents) -> None:
        request = event.validate_configuration_update_event
        message = problem(request.configuration)
        client.send_configuration_validity_report_async(configuration_validity_report=model.ConfigurationValidityReport(
            status="REJECTED" if message else "ACCEPTED", deployment_id=request.deployment_id, message=message or ""))

    client.subscribe_to_validate_configuration_updates(on_stream_event=on_validate)


def threshold_problem(configuration: dict) -> str | None:
    """A validation rule for tests: the threshold must be in (0, 1]."""
    threshold = configuration["threshold"]
    return None if 0 < threshold <= 1 else f"threshold must be in (0, 1], got {threshold}"
