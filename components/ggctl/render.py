"""Recipe rendering: a template plus name, version, bucket and artifact digests gives the recipe Greengrass gets.

Templates mark what ggctl fills in as ``@NAME@`` (distinct from Greengrass ``{ns:key}`` recipe variables and
from shell ``$VAR``); rendering fails on any placeholder it cannot resolve, so no template text reaches AWS.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER, Component

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
S3_PREFIX = "s3://"
IPC_MQTT_PROXY = "aws.greengrass.ipc.mqttproxy"
IPC_PUBSUB = "aws.greengrass.ipc.pubsub"
#: Counter Settings the recipe fixes: Run passes --publish ipc; the nucleus sets AWS_IOT_THING_NAME.
COUNTER_FIXED_KEYS = ("publish", "thing_name")


def load_template(root: Path, component: Component) -> dict:
    path = root / component.spec.template
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GgctlError(f"cannot read recipe template {path}: {exc}") from None
    if not isinstance(recipe, dict):
        raise GgctlError(f"recipe template {path} must be a mapping")
    return recipe


def publish_topic_resource(configuration: Mapping[str, Any]) -> str:
    """The IoT Core topic the counter publishes on, as an accessControl resource.

    ``{camera}`` is the configured camera id; ``{thing}`` becomes the ``{iot:thingName}`` recipe variable,
    which the nucleus resolves per device. Wildcards are refused: the grant must be exactly that topic.
    """
    topic, camera = str(configuration.get("topic", "")), str(configuration.get("camera_id", ""))
    try:
        resource = topic.format(thing="{iot:thingName}", camera=camera)
    except (KeyError, IndexError, ValueError):
        raise GgctlError(f"topic {topic!r} may only use the placeholders {{thing}} and {{camera}}") from None
    if not topic or not camera or any(char in resource for char in "#+*"):
        raise GgctlError(f"topic {resource!r} must be non-empty and free of wildcards (#, +, *)")
    return resource


def access_control(name: str, configuration: Mapping[str, Any]) -> dict:
    """The counter's accessControl: publish on exactly the configured topic, to IoT Core and (if on) locally."""
    resources = [publish_topic_resource(configuration)]
    policies = {
        IPC_MQTT_PROXY: {
            f"{name}:mqttproxy:1": {
                "policyDescription": "Publish counts to the configured IoT Core topic only.",
                "operations": ["aws.greengrass#PublishToIoTCore"],
                "resources": resources,
            }
        }
    }
    if configuration.get("local_pubsub") is True:
        policies[IPC_PUBSUB] = {
            f"{name}:pubsub:1": {
                "policyDescription": "Publish counts on the configured local topic only.",
                "operations": ["aws.greengrass#PublishToTopic"],
                "resources": resources,
            }
        }
    return policies


def _config_value(value: Any) -> Any:
    """A Settings default as a JSON configuration value that parses back to it."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return value


def counter_defaults(overrides: Mapping[str, Any]) -> dict:
    """Every counter Settings key (bar COUNTER_FIXED_KEYS) with its default, then the template's overrides."""
    from count_people.config import Settings
    from count_people.errors import UserError

    defaults = Settings()
    names = [key.name for key in Settings.options() if key.name not in COUNTER_FIXED_KEYS]
    configuration = {name: _config_value(getattr(defaults, name)) for name in names}
    configuration.update(overrides)
    try:
        parsed = defaults.updated({k: configuration[k] for k in names}, origin="counter recipe DefaultConfiguration")
    except UserError as exc:
        raise GgctlError(str(exc)) from None
    for name in set(names) - set(overrides):
        if getattr(parsed, name) != getattr(defaults, name):
            raise GgctlError(f"counter default of {name} does not survive as configuration; "
                             "extend render._config_value")
    return configuration


def default_configuration(root: Path, component: Component) -> dict:
    """The component's DefaultConfiguration as rendered (placeholders aside), accessControl included."""
    template = load_template(root, component)
    configuration = dict(template.get("ComponentConfiguration", {}).get("DefaultConfiguration", {}))
    if component.key == COUNTER.key:
        configuration = counter_defaults(configuration)
        configuration["accessControl"] = access_control(component.name, configuration)
    return configuration


def _substitute(node: Any, values: Mapping[str, str], where: str) -> Any:
    if isinstance(node, dict):
        return {_substitute(k, values, where): _substitute(v, values, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, values, where) for item in node]
    if isinstance(node, str):
        def fill(match: re.Match) -> str:
            if match.group(1) not in values:
                raise GgctlError(f"{where}: unknown placeholder {match.group(0)}")
            return values[match.group(1)]

        return PLACEHOLDER.sub(fill, node)
    return node


def _artifact_file(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def artifact_key(component: Component, file_name: str) -> str:
    """S3 key of an artifact: the layout GDK uses too (NAME/VERSION/FILE)."""
    return f"{component.name}/{component.version}/{file_name}"


def render(
    root: Path,
    component: Component,
    components: Mapping[str, Component],
    bucket: str,
    digests: Mapping[str, str],
) -> dict:
    """The recipe of ``component``; ``digests`` maps artifact file names to base64 SHA-256 digests."""
    grabber = components[GRABBER.key]
    major = int(grabber.version.split(".")[0])
    values = {
        "COMPONENT_NAME": component.name,
        "COMPONENT_VERSION": component.version,
        "COMPONENT_PUBLISHER": component.publisher,
        "BUCKET": bucket,
        "IMAGE": grabber.image,
        "CONTAINER_NAME": grabber.name,
        "GRABBER_NAME": grabber.name,
        "GRABBER_VERSION_REQUIREMENT": f">={grabber.version} <{major + 1}.0.0",
    }
    recipe = _substitute(load_template(root, component), values, component.spec.template)
    recipe.setdefault("ComponentConfiguration", {})["DefaultConfiguration"] = default_configuration(root, component)
    for manifest in recipe.get("Manifests", []):
        for artifact in manifest.get("Artifacts", []):
            uri = artifact.get("URI", "")
            if not uri.startswith(S3_PREFIX):
                continue
            file_name = _artifact_file(uri)
            if file_name not in digests:
                raise GgctlError(f"{component.name}: artifact {file_name} was not built; "
                                 f"run 'ggctl build {component.key}'")
            artifact["Digest"] = digests[file_name]
            artifact["Algorithm"] = "SHA-256"
    return recipe


def artifact_uris(recipe: Mapping[str, Any]) -> list[str]:
    return [
        artifact["URI"]
        for manifest in recipe.get("Manifests", [])
        for artifact in manifest.get("Artifacts", [])
        if str(artifact.get("URI", "")).startswith(S3_PREFIX)
    ]


def dump(recipe: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(recipe), sort_keys=False, width=1000, allow_unicode=True)


def same_recipe(a: Any, b: Any) -> bool:
    """Whether two recipes (YAML/JSON text or parsed) say the same thing, whatever their formatting."""
    def parsed(recipe: Any) -> Any:
        return yaml.safe_load(recipe) if isinstance(recipe, (str, bytes)) else recipe

    return parsed(a) == parsed(b)
