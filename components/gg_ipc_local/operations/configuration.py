"""Configuration operations: Get/UpdateConfiguration, the update and validation subscriptions, validity reports.

Validation follows the Java nucleus (aws-greengrass-nucleus @ a28341c): a component that called
SubscribeToValidateConfigurationUpdates gets each deployment's proposed configuration and answers with
SendConfigurationValidityReport; a report naming no pending deployment is InvalidArgumentsError
("Validation request either timed out or was never made",
builtin/services/configstore/ConfigStoreIPCEventStreamAgent.java:140-150). The deployment side is in
``gg_ipc_local.deployment``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from gg_ipc_local.rpc import Call, Handler, IpcError, Response, log

if TYPE_CHECKING:
    from gg_ipc_local.server import LocalIpcServer

UPDATES = "configuration"
VALIDATION = "validation"


def _own_component(call: Call, request: dict) -> str:
    name = request.get("componentName") or call.server.component
    if name != call.server.component:
        raise IpcError("ResourceNotFoundError",
                       f"component {name} is not served here (only {call.server.component})")
    return name


def merge_and_notify(server: LocalIpcServer, path: list[str], value: Any) -> list[list[str]]:
    """Merge into the live configuration and send an update event per changed key to its subscribers."""
    try:
        changed = server.configuration.merge(path, value)
    except ValueError as exc:
        raise IpcError("InvalidArgumentsError", str(exc)) from None
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
    name, path = _own_component(call, request), list(request.get("keyPath") or [])
    try:
        value = call.server.configuration.get(path)
    except KeyError:
        raise IpcError("ResourceNotFoundError", f"no configuration at keyPath {path} of {name}") from None
    if not isinstance(value, dict):  # a leaf comes back as {key: value}, as from the nucleus
        value = {path[-1]: value}
    return Response("GetConfigurationResponse", {"componentName": name, "value": copy.deepcopy(value)})


async def subscribe_to_configuration_update(call: Call, request: dict) -> Response:
    _own_component(call, request)
    call.subscribe(UPDATES, list(request.get("keyPath") or []))
    return Response("SubscribeToConfigurationUpdateResponse", {}, streaming=True)


async def update_configuration(call: Call, request: dict) -> Response:
    merge_and_notify(call.server, list(request.get("keyPath") or []), request.get("valueToMerge"))
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
