"""The parts of a component recipe the IPC server needs: name, default configuration, accessControl.

Authorisation follows the nucleus: a policy under ``accessControl.<service>`` allows the
listed ``operations`` (or ``*``) on the listed ``resources``, where ``*`` matches any
characters, ``+`` one topic level, ``#`` the remaining levels.

Recipe variables such as ``{iot:thingName}`` are replaced only when the nucleus's
``interpolateComponentConfiguration`` is true, which defaults to false: the Java nucleus interpolates
component configuration (accessControl included) only then (aws-greengrass-nucleus @ a28341c,
src/main/java/com/aws/greengrass/componentmanager/KernelConfigResolver.java:168-176 and :201-220;
DeviceConfiguration.java:460-461 ``dflt(false)``). Left alone, ``{iot:thingName}`` is a literal that no
topic matches, so such a recipe is refused on a default Java nucleus. Nucleus lite always interpolates it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

MQTT_PROXY = "aws.greengrass.ipc.mqttproxy"
PUBSUB = "aws.greengrass.ipc.pubsub"
SECRET_MANAGER = "aws.greengrass.SecretManager"
SERVICES = (MQTT_PROXY, PUBSUB, SECRET_MANAGER)


class RecipeError(Exception):
    """The recipe file cannot be used; the message says why."""


def _key(mapping: Mapping[str, Any], name: str) -> Any:
    """Recipe top-level keys are case-insensitive in Greengrass."""
    for key, value in mapping.items():
        if str(key).lower() == name.lower():
            return value
    return None


def _resource_pattern(resource: str, thing_name: str | None) -> re.Pattern[str]:
    """``thing_name`` None: no recipe-variable interpolation (the nucleus's default)."""
    if thing_name is not None:
        resource = resource.replace("{iot:thingName}", thing_name)
    parts = []
    for index, char in enumerate(resource):
        if char == "*":
            parts.append(".*")
        elif char == "+":
            parts.append("[^/]*")
        elif char == "#" and index == len(resource) - 1:
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts))


@dataclass
class Policy:
    operations: frozenset[str]
    resources: list[re.Pattern[str]]

    def allows(self, operation: str, resource: str) -> bool:
        return bool({operation, "*"} & self.operations) and any(p.fullmatch(resource) for p in self.resources)


@dataclass
class Recipe:
    component_name: str
    default_configuration: dict[str, Any] = field(default_factory=dict)
    thing_name: str = "local-thing"
    interpolate: bool = False  # the nucleus's interpolateComponentConfiguration

    @classmethod
    def load(cls, path: str | Path, thing_name: str = "local-thing", interpolate: bool = False) -> Recipe:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise RecipeError(f"cannot read recipe {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise RecipeError(f"recipe {path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict) or not isinstance(_key(data, "ComponentName"), str):
            raise RecipeError(f"recipe {path} has no ComponentName")
        config = _key(_key(data, "ComponentConfiguration") or {}, "DefaultConfiguration") or {}
        if not isinstance(config, dict):
            raise RecipeError(f"recipe {path}: DefaultConfiguration must be a mapping")
        recipe = cls(_key(data, "ComponentName"), config, thing_name, interpolate)
        for service in SERVICES:  # fail at start-up, not on the first request
            recipe.policies(service)
        return recipe

    def policies(self, service: str, configuration: Mapping[str, Any] | None = None) -> list[Policy]:
        """The policies of ``service`` in ``configuration`` (the live one may change accessControl)."""
        config = self.default_configuration if configuration is None else configuration
        section = (config.get("accessControl") or {}).get(service) or {}
        if not isinstance(section, dict):
            raise RecipeError(f"accessControl.{service} must map policy ids to policies")
        policies = []
        for policy_id, policy in section.items():
            if not isinstance(policy, dict):
                raise RecipeError(f"accessControl.{service}.{policy_id} must be a mapping")
            operations, resources = policy.get("operations") or [], policy.get("resources") or []
            if not isinstance(operations, list) or not isinstance(resources, list):
                raise RecipeError(f"accessControl.{service}.{policy_id}: operations and resources must be lists")
            policies.append(Policy(frozenset(map(str, operations)),
                                   [_resource_pattern(str(r), self.thing_name if self.interpolate else None)
                                    for r in resources]))
        return policies

    def authorized(self, service: str, operation: str, resource: str,
                   configuration: Mapping[str, Any] | None = None) -> bool:
        try:
            return any(p.allows(operation, resource) for p in self.policies(service, configuration))
        except RecipeError:
            return False  # an update broke accessControl: deny, as the nucleus would
