"""The Greengrass v2 control plane: component versions, deployments and their status."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

from ggctl import render
from ggctl.errors import GgctlError, aws_errors
from ggctl.project import GDK_CONFIG, SEMVER, Component, next_patch, with_version

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
                f"to register {next_patch(candidate.version)}, or raise the version in "
                f"{component.spec.gdk_dir}/{GDK_CONFIG}"
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


def _pages(gg: Any, operation: str, key: str, **arguments: Any) -> list[dict]:
    """Every item of a paginated list call (nextToken followed to the end)."""
    return [item for page in gg.get_paginator(operation).paginate(**arguments) for item in page.get(key, [])]


def _revision(summary: Mapping[str, Any]) -> tuple[int, str]:
    revision = str(summary.get("revisionId", ""))
    return (int(revision) if revision.isdigit() else -1, str(summary.get("creationTimestamp", "")))


def current_deployment(gg: Any, target_arn: str) -> Optional[dict]:
    """The latest deployment ever created for the target, whatever its status (GetDeployment answer), or None
    when it has none.

    A new deployment replaces the target's previous one (API reference, CreateDeployment), so only a target
    with no deployment at all may get one of ours alone. A canceled or failed latest one still counts: the
    devices that received it run it (CancelDeployment changes nothing on them), the others the one before.
    historyFilter ALL lists every revision of the target's deployments, whatever their status (botocore's
    greengrassv2 model, ListDeploymentsRequest; LATEST_ONLY, the default, lists "only the latest revision of
    each deployment", and the AWS CLI's list-deployments example shows such entries with isLatestForTarget
    false, so that flag is not relied on); the highest revisionId, then the newest creationTimestamp, is the
    latest one created.
    """
    with aws_errors(f"listing the deployments of {target_arn}"):
        listed = _pages(gg, "list_deployments", "deployments", targetArn=target_arn, historyFilter="ALL")
    mine = [d for d in listed if d.get("targetArn", target_arn) == target_arn]
    if not mine:
        return None
    deployment_id = max(mine, key=_revision)["deploymentId"]
    with aws_errors(f"reading deployment {deployment_id}"):
        return gg.get_deployment(deploymentId=deployment_id)


def latest_public_version(gg: Any, partition: str, region: str, name: str) -> str:
    """The newest version of an AWS-provided component (account ``aws`` in its ARN), e.g. the Secret manager."""
    arn = f"arn:{partition}:greengrass:{region}:aws:components:{name}"
    with aws_errors(f"listing the versions of {name}"):
        versions = [v["componentVersion"] for v in _pages(gg, "list_component_versions", "componentVersions", arn=arn)]
    valid = [v for v in versions if SEMVER.match(v)]
    if not valid:
        raise GgctlError(f"no version of {name} in {region}; pass --version {name}=X.Y.Z")
    return max(valid, key=lambda v: tuple(int(part) for part in v.split(".")))


def create_deployment(gg: Any, request: Mapping[str, Any]) -> str:
    with aws_errors(f"creating the deployment for {request['targetArn']}"):
        return gg.create_deployment(**request)["deploymentId"]


def deployment_summary(deployment: Mapping[str, Any]) -> dict:
    """A GetDeployment answer as status shows it."""
    return {
        "deploymentId": deployment.get("deploymentId"), "deploymentName": deployment.get("deploymentName", ""),
        "targetArn": deployment.get("targetArn"), "revisionId": deployment.get("revisionId"),
        "deploymentStatus": deployment.get("deploymentStatus"),
        "components": {name: spec.get("componentVersion") for name, spec in
                       sorted(deployment.get("components", {}).items())},
    }


def deployment_status(gg: Any, deployment_id: str) -> dict:
    with aws_errors(f"reading deployment {deployment_id}"):
        return deployment_summary(gg.get_deployment(deploymentId=deployment_id))


def deployment_lines(summary: Mapping[str, Any]) -> list[str]:
    lines = [f"deployment {summary['deploymentId']} ({summary['deploymentName']}) -> {summary['targetArn']}: "
             f"{summary['deploymentStatus']}"]
    lines += [f"  {name} {version}" for name, version in summary["components"].items()]
    return lines


def device_status(gg: Any, thing_name: str) -> dict:
    """A core device's effective deployments and installed components (every page of both), dependencies
    such as the nucleus and the Secret manager included (topologyFilter ALL; the default ROOT lists only the
    components a deployment names: ListInstalledComponents in botocore's greengrassv2 model)."""
    with aws_errors(f"reading core device {thing_name}"):
        deployments = _pages(gg, "list_effective_deployments", "effectiveDeployments", coreDeviceThingName=thing_name)
        installed = _pages(gg, "list_installed_components", "installedComponents", coreDeviceThingName=thing_name,
                           topologyFilter="ALL")
    return {"thingName": thing_name, "effectiveDeployments": deployments, "installedComponents": installed}


def device_lines(status: Mapping[str, Any]) -> list[str]:
    lines = [f"core device {status['thingName']}:"]
    lines += [f"  deployment {d['deploymentId']} ({d.get('deploymentName', '')}): {d.get('coreDeviceExecutionStatus')}"
              f"{' - ' + d['reason'] if d.get('reason') else ''}" for d in status["effectiveDeployments"]]
    lines += [f"  {c['componentName']} {c.get('componentVersion')}: {c.get('lifecycleState')}"
              f"{' - ' + c['lifecycleStateDetails'] if c.get('lifecycleStateDetails') else ''}"
              for c in status["installedComponents"]]
    return lines
