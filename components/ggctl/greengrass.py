"""The Greengrass v2 control plane: component versions, deployments and their status."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping, Optional

from ggctl import render
from ggctl.errors import GgctlError, aws_errors
from ggctl.project import Component, next_patch, with_version

#: Versions tried by --bump before giving up (each one is registered with another recipe).
MAX_BUMPS = 50
TARGET_KINDS = ("thing", "thinggroup")


def component_arn(partition: str, region: str, account: str, name: str, version: Optional[str] = None) -> str:
    arn = f"arn:{partition}:greengrass:{region}:{account}:components:{name}"
    return f"{arn}:versions:{version}" if version else arn


def target_arn(partition: str, region: str, account: str, target: str) -> str:
    """``thing/NAME`` or ``thinggroup/NAME`` as the IoT ARN create_deployment takes."""
    kind, _, name = target.partition("/")
    if kind not in TARGET_KINDS or not name or "/" in name:
        raise GgctlError(f"--target must be thing/NAME or thinggroup/NAME, got {target!r}")
    return f"arn:{partition}:iot:{region}:{account}:{kind}/{name}"


def registered_recipe(gg: Any, arn: str) -> Optional[bytes]:
    """The recipe of a registered component version, or None when the version does not exist."""
    with aws_errors(f"reading {arn}"):
        try:
            return gg.get_component(arn=arn, recipeOutputFormat="YAML")["recipe"]
        except gg.exceptions.ResourceNotFoundException:
            return None


def free_version(
    gg: Any, component: Component, arn_of: Callable[[str], str], recipe_of: Callable[[Component], dict], bump: bool
) -> tuple[Component, dict, bool]:
    """(component at the version to use, its recipe, whether that version is already registered as is).

    A version registered with another recipe is an error unless ``bump``, which tries the next patch.
    """
    candidate = component
    for _ in range(MAX_BUMPS):
        recipe = recipe_of(candidate)
        existing = registered_recipe(gg, arn_of(candidate.version))
        if existing is None:
            return candidate, recipe, False
        if render.same_recipe(existing, recipe):
            return candidate, recipe, True
        if not bump:
            raise GgctlError(
                f"{component.name} {candidate.version} is already registered with a different recipe; pass --bump "
                f"to register {next_patch(candidate.version)}, or raise the version in gdk-config.json"
            )
        candidate = with_version(candidate, next_patch(candidate.version))
    raise GgctlError(f"{component.name}: no free version within {MAX_BUMPS} patches of {component.version}")


def create_version(gg: Any, recipe: Mapping[str, Any], wait_s: float = 120, poll_s: float = 2) -> str:
    """Registers the recipe and waits until Greengrass has checked its artifacts; returns the ARN."""
    name, version = recipe["ComponentName"], recipe["ComponentVersion"]
    with aws_errors(f"registering {name} {version}"):
        arn = gg.create_component_version(inlineRecipe=render.dump(recipe).encode())["arn"]
    deadline = time.monotonic() + wait_s
    while True:
        with aws_errors(f"checking {name} {version}"):
            status = gg.describe_component(arn=arn)["status"]
        state = status.get("componentState")
        if state == "DEPLOYABLE":
            return arn
        if state == "FAILED":
            raise GgctlError(f"Greengrass rejected {name} {version}: {status.get('message', 'no reason given')}; "
                             "check the artifact bucket's region and the uploaded digests")
        if time.monotonic() > deadline:
            raise GgctlError(f"{name} {version} is still {state} after {wait_s:.0f} s; check it with "
                             f"'aws greengrassv2 describe-component --arn {arn}'")
        time.sleep(poll_s)


def deployment_request(
    target: str, deployment_name: str, components: Mapping[str, Component], merges: Mapping[str, Mapping]
) -> dict:
    """The create_deployment arguments: every component at its version, with its configuration merge."""
    specs = {}
    for key, component in components.items():
        spec: dict = {"componentVersion": component.version}
        merge = merges.get(key)
        if merge:
            spec["configurationUpdate"] = {"merge": json.dumps(merge, sort_keys=True)}
            if "accessControl" in merge:  # replace earlier grants rather than add to them
                spec["configurationUpdate"]["reset"] = ["/accessControl"]
        specs[component.name] = spec
    return {
        "targetArn": target,
        "deploymentName": deployment_name,
        "components": specs,
        "deploymentPolicies": {
            # A device that cannot run the new versions goes back to what it ran before.
            "failureHandlingPolicy": "ROLLBACK",
            "componentUpdatePolicy": {"timeoutInSeconds": 60, "action": "NOTIFY_COMPONENTS"},
            "configurationValidationPolicy": {"timeoutInSeconds": 60},
        },
    }


def create_deployment(gg: Any, request: Mapping[str, Any]) -> str:
    with aws_errors(f"creating the deployment for {request['targetArn']}"):
        return gg.create_deployment(**request)["deploymentId"]


def deployment_status(gg: Any, deployment_id: str) -> list[str]:
    """Lines describing a deployment: its state and the component versions it deploys."""
    with aws_errors(f"reading deployment {deployment_id}"):
        deployment = gg.get_deployment(deploymentId=deployment_id)
    lines = [
        f"deployment {deployment_id} ({deployment.get('deploymentName', '')}) -> {deployment.get('targetArn')}: "
        f"{deployment.get('deploymentStatus')}",
    ]
    for name, spec in sorted(deployment.get("components", {}).items()):
        lines.append(f"  {name} {spec.get('componentVersion')}")
    return lines


def device_status(gg: Any, thing_name: str) -> list[str]:
    """Lines describing a core device: its effective deployments and the component versions it runs."""
    with aws_errors(f"reading core device {thing_name}"):
        deployments = gg.list_effective_deployments(coreDeviceThingName=thing_name)["effectiveDeployments"]
        installed = gg.list_installed_components(coreDeviceThingName=thing_name)["installedComponents"]
    lines = [f"core device {thing_name}:"]
    lines += [f"  deployment {d['deploymentId']} ({d.get('deploymentName', '')}): {d.get('coreDeviceExecutionStatus')}"
              f"{' - ' + d['reason'] if d.get('reason') else ''}" for d in deployments]
    lines += [f"  {c['componentName']} {c.get('componentVersion')}: {c.get('lifecycleState')}"
              f"{' - ' + c['lifecycleStateDetails'] if c.get('lifecycleStateDetails') else ''}" for c in installed]
    return lines
