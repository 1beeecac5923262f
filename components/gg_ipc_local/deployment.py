"""Deployment-style configuration updates: validated by the component first, applied only if it accepts.

As the Java nucleus does it (aws-greengrass-nucleus @ a28341c,
src/main/java/com/aws/greengrass/deployment/DynamicComponentConfigurationValidator.java): only a change of
the configuration is validated (:123-127); the proposed configuration goes to the components subscribed to
validation (the event carries ``configuration`` and ``deploymentId``, ConfigStoreIPCEventStreamAgent.java:
507-513); a component that did not subscribe is not asked (:182); the deployment waits up to 20 s by
default (DEFAULT_TIMEOUT_SECOND, :55) for every report; a REJECTED report or a timeout fails it with
FAILED_NO_STATE_CHANGE and "Components reported that their to-be-deployed configuration is invalid
{ name = C, message = M }" (:196-225), and nothing is merged.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gg_ipc_local.operations.configuration import VALIDATION, merge_and_notify
from gg_ipc_local.rpc import log

if TYPE_CHECKING:
    from gg_ipc_local.server import LocalIpcServer

#: The Java nucleus's default configurationValidationPolicy timeout.
DEFAULT_VALIDATION_TIMEOUT_S = 20.0


@dataclass
class DeploymentResult:
    deployment_id: str
    status: str  # "SUCCEEDED" or "FAILED_NO_STATE_CHANGE"
    message: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class Deployments:
    """Pending validations of one server's component, by deployment id."""

    def __init__(self, server: LocalIpcServer) -> None:
        self.server = server
        self._pending: dict[str, asyncio.Future] = {}

    def report(self, deployment_id: str, status: str, message: str) -> bool:
        """A component's validity report; False when no validation of that deployment is pending."""
        future = self._pending.pop(deployment_id, None)
        if future is None or future.done():
            return False
        future.set_result((status, message))
        return True

    async def deploy(self, merge: dict[str, Any], timeout: float = DEFAULT_VALIDATION_TIMEOUT_S) -> DeploymentResult:
        """Merge ``merge`` into the component's configuration as a deployment would."""
        deployment_id = str(uuid.uuid4())
        proposal, changed = self.server.configuration.merged(merge)
        validators = [s for s in self.server.subscriptions if s.kind == VALIDATION]
        if changed and validators:
            future = asyncio.get_running_loop().create_future()
            self._pending[deployment_id] = future
            event = {"validateConfigurationUpdateEvent": {"configuration": proposal, "deploymentId": deployment_id}}
            for sub in validators:
                sub.send("ValidateConfigurationUpdateEvents", event)
            try:
                status, message = await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                self._pending.pop(deployment_id, None)
                return self._failed(deployment_id, "Error while waiting for validation report for one or more "
                                                   f"components: no report within {timeout:g} s")
            if status == "REJECTED":
                return self._failed(deployment_id, "Components reported that their to-be-deployed configuration is "
                                                   f"invalid {{ name = {self.server.component}, message = {message} }}")
        merge_and_notify(self.server, [], merge)
        log.info("deployment %s of %s succeeded", deployment_id, self.server.component)
        return DeploymentResult(deployment_id, "SUCCEEDED")

    @staticmethod
    def _failed(deployment_id: str, message: str) -> DeploymentResult:
        log.warning("deployment %s failed: %s", deployment_id, message)
        return DeploymentResult(deployment_id, "FAILED_NO_STATE_CHANGE", message)
