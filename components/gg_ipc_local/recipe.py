"""The parts of a component recipe the IPC server needs: name, default configuration, accessControl.

Authorisation follows the Java nucleus (aws-greengrass-nucleus v2.18.2). A policy under
``accessControl.<service>`` allows the listed ``operations`` (or ``*``) on the listed ``resources``
(src/main/java/com/aws/greengrass/authorization/AuthorizationHandler.java:224-251). How a resource matches
depends on the service:

- ``aws.greengrass.ipc.mqttproxy`` matches MQTT style (MqttProxyIPCAgent.java:310-313, ``MQTT_STYLE``;
  WildcardTrie.java:248-332 ``matchesMQTT``): ``*`` is a glob over any characters, ``/`` included; ``+`` is
  one topic level and ``#`` the remaining levels (``a/#`` also matches ``a``, WildcardTrie.java:288-295), but
  only where MQTT allows them: ``+`` alone between ``/`` (or at either end), ``#`` alone at the end after
  ``/`` (WildcardTrie.java:113-147); anywhere else they are literal characters. (Nuclei before 2.6.0 used
  ``MqttTopic.topicIsSupersetOf`` here instead, without the ``*`` glob: v2.0.3 MqttProxyIPCAgent.java:241.)
- every other service, ``aws.greengrass.ipc.pubsub`` (PubSubIPCEventStreamAgent.java:329-332) and
  ``aws.greengrass.SecretManager`` included, matches STANDARD (AuthorizationHandler.java:254-256;
  WildcardTrie.java:187-239 ``matchesStandard``): ``*`` is the only wildcard; ``+`` and ``#`` are literal.
- ``${*}``, ``${$}`` and ``${?}`` stand for the literal character (WildcardTrie.java:148-179); any other
  ``${`` sequence, or a bare ``?``, makes the resource invalid (AuthorizationModule.java:58-93), and the
  nucleus logs it and leaves that one resource out of the grant (AuthorizationHandler.java:446-463).
  Developer guide, "Authorize components to perform IPC operations": "Wildcards in resources".

Recipe variables such as ``{iot:thingName}`` are replaced only when the nucleus's
``interpolateComponentConfiguration`` is true, which defaults to false: the Java nucleus interpolates
component configuration (accessControl included) only then (aws-greengrass-nucleus @ a28341c,
src/main/java/com/aws/greengrass/componentmanager/KernelConfigResolver.java:168-176 and :201-220;
DeviceConfiguration.java:460-461 ``dflt(false)``). Left alone, ``{iot:thingName}`` is a literal that no
topic matches, so such a recipe is refused on a default Java nucleus. Nucleus lite always interpolates it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MQTT_PROXY = "aws.greengrass.ipc.mqttproxy"
PUBSUB = "aws.greengrass.ipc.pubsub"
SECRET_MANAGER = "aws.greengrass.SecretManager"
SERVICES = (MQTT_PROXY, PUBSUB, SECRET_MANAGER)

log = logging.getLogger("gg_ipc_local")


class RecipeError(Exception):
    """The recipe file cannot be used; the message says why."""


def _key(mapping: Mapping[str, Any], name: str) -> Any:
    """Recipe top-level keys are case-insensitive in Greengrass."""
    for key, value in mapping.items():
        if str(key).lower() == name.lower():
            return value
    return None


#: What ``${c}`` may escape (AuthorizationModule.java:95-97).
ESCAPABLE = "*$?"


def resource_pattern(resource: str, mqtt_style: bool) -> re.Pattern[str]:
    """The resource as the nucleus's WildcardTrie matches it; ValueError when the nucleus would refuse it."""
    if not resource:
        raise ValueError("Resource cannot be empty")
    parts: list[str] = []
    index, end = 0, len(resource)
    while index < end:
        char = resource[index]
        if char == "$" and resource.startswith("{", index + 1):
            if index + 3 >= end or resource[index + 3] != "}" or resource[index + 2] not in ESCAPABLE:
                raise ValueError("Resource contains an invalid escape sequence. You can use ${*}, ${$}, or ${?}")
            parts.append(re.escape(resource[index + 2]))
            index += 4
            continue
        if char == "?":
            raise ValueError("Resource contains invalid character: '?'. Use an escape sequence: ${?}")
        level_start = index == 0 or resource[index - 1] == "/"
        level_end = index == end - 1 or resource[index + 1] == "/"
        if char == "*" or (mqtt_style and resource == "#"):
            parts.append(".*")
        elif mqtt_style and char == "#" and index == end - 1 and index > 0 and resource[index - 1] == "/":
            parts[-1] = "(?:/.*)?"  # the "/" before it: "a/#" matches "a" too
        elif mqtt_style and char == "+" and level_start and level_end:
            parts.append("[^/]*")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


@functools.lru_cache(maxsize=1024)
def _compiled(resource: str, mqtt_style: bool) -> re.Pattern[str] | None:
    """Cached, so an invalid resource is logged once, not on every request."""
    try:
        return resource_pattern(resource, mqtt_style)
    except ValueError as exc:
        log.warning("accessControl resource %r is left out, as the nucleus leaves it out: %s", resource, exc)
        return None


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
            patterns = (_compiled(self._interpolated(str(r)), service == MQTT_PROXY) for r in resources)
            policies.append(Policy(frozenset(map(str, operations)), [p for p in patterns if p is not None]))
        return policies

    def _interpolated(self, resource: str) -> str:
        return resource.replace("{iot:thingName}", self.thing_name) if self.interpolate else resource

    def authorized(self, service: str, operation: str, resource: str,
                   configuration: Mapping[str, Any] | None = None) -> bool:
        try:
            return any(p.allows(operation, resource) for p in self.policies(service, configuration))
        except RecipeError:
            return False  # an update broke accessControl: deny, as the nucleus would
