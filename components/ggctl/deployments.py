"""Deployment revisions: the target's current deployment plus our components, and what changes.

A target (thing or thing group) has one active deployment, and a new one replaces it: "If you create a
deployment for a target that has an existing deployment, you replace the previous deployment" (Greengrass
API reference, CreateDeployment); the core then removes every component the new one does not list. The
documented way to add components is to *revise*: create a deployment that starts from the previous one's
components and configuration (developer guide, "Revise deployments"). So ``ggctl deploy`` copies the
current deployment (components with their version, configurationUpdate and runWith; deploymentPolicies;
iotJobConfiguration; tags), then adds or updates ours.

Our configuration merges are carried forward: the previous merge of one of our components, updated with
the new keys, because a device that joins a thing group later gets only the latest deployment's merges.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

#: CreateDeployment arguments a revision copies from GetDeployment's answer.
COPIED = ("deploymentPolicies", "iotJobConfiguration", "parentTargetArn", "tags")
DEFAULT_POLICIES = {
    # A device that cannot run the new versions goes back to what it ran before.
    "failureHandlingPolicy": "ROLLBACK",
    "componentUpdatePolicy": {"timeoutInSeconds": 60, "action": "NOTIFY_COMPONENTS"},
    "configurationValidationPolicy": {"timeoutInSeconds": 60},
}
ACCESS_CONTROL = "accessControl"
RESET_ACCESS_CONTROL = "/accessControl"


@dataclass
class Update:
    """What we deploy for one component: its version, keys to merge, paths to reset."""

    version: str
    merge: dict = field(default_factory=dict)
    reset: list[str] = field(default_factory=list)
    #: Recomputes keys that derive from the whole merged configuration (accessControl), or None.
    derive: Callable[[dict], dict] | None = None


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict:
    """``base`` with ``update`` merged in, mappings recursively (as Greengrass merges configuration)."""
    result = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def previous_merge(spec: Mapping[str, Any]) -> dict:
    text = spec.get("configurationUpdate", {}).get("merge") or "{}"
    try:
        merge = json.loads(text)
    except ValueError:
        merge = {}
    return merge if isinstance(merge, dict) else {}


def as_request(deployment: Mapping[str, Any]) -> dict:
    """The CreateDeployment arguments that would recreate ``deployment`` (a GetDeployment answer)."""
    request = {"targetArn": deployment["targetArn"], "deploymentName": deployment.get("deploymentName", ""),
               "components": copy.deepcopy(deployment.get("components", {}))}
    request.update({key: copy.deepcopy(deployment[key]) for key in COPIED if deployment.get(key)})
    return request


def revise(current: Mapping[str, Any] | None, target_arn: str, name: str | None, default_name: str,
           updates: Mapping[str, Update]) -> dict:
    """CreateDeployment arguments: ``current`` (a GetDeployment answer, or None) with ``updates`` applied."""
    request = as_request(current) if current else {"targetArn": target_arn, "components": {}}
    request["targetArn"] = target_arn
    request["deploymentName"] = name or request.get("deploymentName") or default_name
    request.setdefault("deploymentPolicies", copy.deepcopy(DEFAULT_POLICIES))
    components = request["components"]
    for component_name, update in updates.items():
        old = components.get(component_name, {})
        base = {k: v for k, v in previous_merge(old).items() if k != ACCESS_CONTROL}
        merge = deep_merge(base, update.merge)
        if update.derive is not None:
            merge.update(update.derive(merge))
        reset = sorted(set(old.get("configurationUpdate", {}).get("reset", [])) | set(update.reset))
        spec: dict = {"componentVersion": update.version}
        if "runWith" in old:
            spec["runWith"] = old["runWith"]
        if merge or reset:
            spec["configurationUpdate"] = {}
            if merge:
                spec["configurationUpdate"]["merge"] = json.dumps(merge, sort_keys=True)
            if reset:
                spec["configurationUpdate"]["reset"] = reset
        components[component_name] = spec
    return request


def readable(request: Mapping[str, Any], mask: Callable[[str, dict], dict]) -> dict:
    """``request`` with each merge parsed (and passed through ``mask``), for printing and diffing."""
    shown = copy.deepcopy(dict(request))
    for component_name, spec in shown.get("components", {}).items():
        update = spec.get("configurationUpdate")
        if update and "merge" in update:
            update["merge"] = mask(component_name, previous_merge(spec))
    return shown


def difference(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """Unified diff lines between two readable requests (``before`` None: everything is new)."""
    def lines(document: Mapping[str, Any] | None) -> list[str]:
        return [] if document is None else json.dumps(document, indent=2, sort_keys=True, default=str).splitlines()

    return list(difflib.unified_diff(lines(before), lines(after), "current deployment", "revision", lineterm="", n=3))
