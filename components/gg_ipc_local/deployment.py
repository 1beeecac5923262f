"""Deployment-style configuration updates: validated by the component first, applied only if it accepts.

As the Java nucleus does it (aws-greengrass-nucleus v2.18.2, src/main/java/com/aws/greengrass/deployment/):

- The proposed configuration is resolved from the running one, the ``reset`` paths, the recipe's defaults
  and the ``merge`` (``ComponentConfiguration.resolved``, KernelConfigResolver.java:352-393), and then
  replaces the running one (activator/DeploymentActivator.java:105-146).
- Validation comes first and the merge after it (DeploymentConfigMerger.java:149-153, then ``activate`` at
  :229); authorisation policies are reloaded only when the merged configuration changes accessControl
  (authorization/AuthorizationHandler.java:147-199). So while a component validates, the OLD accessControl is
  in force: a call that only the proposed accessControl would allow is refused, and the new policy applies
  once the deployment has merged.
- Only a change of the configuration is validated, and not when the deployment also changes the component's
  version (DynamicComponentConfigurationValidator.java:90-95, :123-128): the component restarts instead.
- The proposed configuration goes to the components subscribed to validation (the event carries
  ``configuration`` and ``deploymentId``, ConfigStoreIPCEventStreamAgent.java:507-513); a component that did
  not subscribe is not asked (DynamicComponentConfigurationValidator.java:182); the deployment waits up to 20 s
  by default (DEFAULT_TIMEOUT_SECOND, :55) for every report; a REJECTED report or a timeout fails it with
  FAILED_NO_STATE_CHANGE and "Components reported that their to-be-deployed configuration is invalid
  { name = C, message = M }" (:196-225), and nothing is merged.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gg_ipc_local.operations.configuration import VALIDATION, notify
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

    async def deploy(self, merge: dict[str, Any], timeout: float = DEFAULT_VALIDATION_TIMEOUT_S, *,
                     reset: Sequence[str] = (), version_change: bool = False) -> DeploymentResult:
        """A deployment's configurationUpdate of the component: ``reset`` JSON pointers, then ``merge``.

        ``version_change``: the deployment also changes the component's version, so it is not validated.
        """
        deployment_id = str(uuid.uuid4())
        configuration = self.server.configuration
        try:
            proposal = configuration.resolved(self.server.recipe.default_configuration, reset, merge)
        except ValueError as exc:
            return self._failed(deployment_id, str(exc))
        validators = [s for s in self.server.subscriptions if s.kind == VALIDATION]
        if version_change:
            log.info("deployment %s changes the version of %s: not validated, the component restarts",
                     deployment_id, self.server.component)
        elif proposal != configuration.data and validators:
            failure = await self._validate(deployment_id, proposal, validators, timeout)
            if failure:
                return self._failed(deployment_id, failure)
        notify(self.server, configuration.replace(proposal))
        log.info("deployment %s of %s succeeded", deployment_id, self.server.component)
        return DeploymentResult(deployment_id, "SUCCEEDED")

    async def _validate(self, deployment_id: str, proposal: dict[str, Any], validators: list,
                        timeout: float) -> str | None:
        """Ask the subscribed clients; the failure message, or None when the component accepts."""
        future = asyncio.get_running_loop().create_future()
        self._pending[deployment_id] = future
        event = {"validateConfigurationUpdateEvent": {"configuration": proposal, "deploymentId": deployment_id}}
        for sub in validators:
            sub.send("ValidateConfigurationUpdateEvents", event)
        try:
            status, message = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self._pending.pop(deployment_id, None)
            return ("Error while waiting for validation report for one or more components: "
                    f"no report within {timeout:g} s")
        if status == "REJECTED":
            return ("Components reported that their to-be-deployed configuration is invalid "
                    f"{{ name = {self.server.component}, message = {message} }}")
        return None

    @staticmethod
    def _failed(deployment_id: str, message: str) -> DeploymentResult:
        log.warning("deployment %s failed: %s", deployment_id, message)
        return DeploymentResult(deployment_id, "FAILED_NO_STATE_CHANGE", message)
