"""Configuration operations: Get/UpdateConfiguration, the update and validation subscriptions, validity reports.

Validation follows the Java nucleus (aws-greengrass-nucleus @ a28341c): a component that called
SubscribeToValidateConfigurationUpdates gets each deployment's proposed configuration and answers with
SendConfigurationValidityReport; a report naming no pending deployment is InvalidArgumentsError
("Validation request either timed out or was never made",
builtin/services/configstore/ConfigStoreIPCEventStreamAgent.java:140-150). The deployment side is in
``gg_ipc_local.deployment``.

Reading and writing follow ConfigStoreIPCEventStreamAgent.java at aws-greengrass-nucleus v2.18.2
(src/main/java/com/aws/greengrass/builtin/services/configstore/): GetConfiguration and
SubscribeToConfigurationUpdate may name any component on the device, with no authorisation; an unknown
component or key path is ResourceNotFoundError "Key not found" (:72, :187-213, :371-389). A leaf comes back
as ``{key: value}`` (:217-220). UpdateConfiguration writes only the caller's own configuration (:273), needs
``timestamp`` and ``valueToMerge``, and may not touch ``accessControl`` (:240, :312-328).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from gg_ipc_local.config_store import ComponentConfiguration
from gg_ipc_local.rpc import Call, Handler, IpcError, Response, log

if TYPE_CHECKING:
    from gg_ipc_local.server import LocalIpcServer

UPDATES = "configuration"
VALIDATION = "validation"


KEY_NOT_FOUND = "Key not found"
RESTRICTED = ("accessControl",)


def _configuration(call: Call, request: dict) -> tuple[str, ComponentConfiguration]:
    """The named component (the caller's own by default) and its configuration tree."""
    name = request.get("componentName") or call.server.component
    configuration = call.server.component_configurations().get(name)
    if configuration is None:
        raise IpcError("ResourceNotFoundError", KEY_NOT_FOUND)
    return name, configuration


def _node(configuration: ComponentConfiguration, path: list[str]) -> Any:
    try:
        return configuration.get(path)
    except KeyError:
        raise IpcError("ResourceNotFoundError", KEY_NOT_FOUND) from None


def merge_and_notify(server: LocalIpcServer, path: list[str], value: Any) -> list[list[str]]:
    """Merge into the live configuration and send an update event per changed key to its subscribers."""
    try:
        changed = server.configuration.merge(path, value)
    except ValueError as exc:
        raise IpcError("InvalidArgumentsError", str(exc)) from None
    return notify(server, changed)


def notify(server: LocalIpcServer, changed: list[list[str]]) -> list[list[str]]:
    """Log the changed key paths and send each to the subscribers whose key path it is in or above."""
    log.info("configuration of %s updated: %s", server.component,
             ", ".join("/".join(p) for p in changed) or "no change")
    for changed_path in changed:
        for sub in server.subscriptions:
            common = min(len(sub.key), len(changed_path)) if sub.kind == UPDATES else 0
            if sub.kind == UPDATES and sub.key[:common] == changed_path[:common]:  # either inside the other
                sub.send("ConfigurationUpdateEvents", {
                    "configurationUpdateEvent": {"componentName": server.component, "keyPath": changed_path}})
    return changed


async def get_configuration(call: Call, request: dict) -> Response:
    name, configuration = _configuration(call, request)
    path = list(request.get("keyPath") or [])
    value = _node(configuration, path)
    if not isinstance(value, dict):  # a leaf comes back as {key: value}, as from the nucleus
        value = {path[-1]: value}
    return Response("GetConfigurationResponse", {"componentName": name, "value": copy.deepcopy(value)})


async def subscribe_to_configuration_update(call: Call, request: dict) -> Response:
    name, configuration = _configuration(call, request)
    path = list(request.get("keyPath") or [])
    _node(configuration, path)
    # Another component's configuration never changes here: its stream stays open without events.
    call.subscribe(UPDATES if name == call.server.component else f"{UPDATES}:{name}", path)
    return Response("SubscribeToConfigurationUpdateResponse", {}, streaming=True)


async def update_configuration(call: Call, request: dict) -> Response:
    path, value = list(request.get("keyPath") or []), request.get("valueToMerge")
    if request.get("timestamp") is None:
        raise IpcError("InvalidArgumentsError", "Timestamp is required")
    if value is None:
        raise IpcError("InvalidArgumentsError", "ValueToMerge is required")
    top_keys = path[:1] or (list(value) if isinstance(value, dict) else [])
    if set(top_keys) & set(RESTRICTED):
        raise IpcError("InvalidArgumentsError", f"Config update is not allowed for following fields {list(RESTRICTED)}")
    merge_and_notify(call.server, path, value)
    return Response("UpdateConfigurationResponse", {})


async def subscribe_to_validate_configuration_updates(call: Call, request: dict) -> Response:
    call.subscribe(VALIDATION, None)
    return Response("SubscribeToValidateConfigurationUpdatesResponse", {}, streaming=True)


async def send_configuration_validity_report(call: Call, request: dict) -> Response:
    report = request.get("configurationValidityReport")
    if not isinstance(report, dict) or report.get("status") not in ("ACCEPTED", "REJECTED"):
        raise IpcError("InvalidArgumentsError", "configurationValidityReport needs a status ACCEPTED or REJECTED")
    deployment_id = report.get("deploymentId")
    if not deployment_id:
        raise IpcError("InvalidArgumentsError",
                       "Cannot accept configuration validity report, the deployment ID provided was null")
    if not call.server.deployments.report(str(deployment_id), report["status"], str(report.get("message") or "")):
        raise IpcError("InvalidArgumentsError", "Validation request either timed out or was never made")
    return Response("SendConfigurationValidityReportResponse", {})


OPERATIONS: dict[str, Handler] = {
    "GetConfiguration": get_configuration,
    "SubscribeToConfigurationUpdate": subscribe_to_configuration_update,
    "UpdateConfiguration": update_configuration,
    "SubscribeToValidateConfigurationUpdates": subscribe_to_validate_configuration_updates,
    "SendConfigurationValidityReport": send_configuration_validity_report,
}
