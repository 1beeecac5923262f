"""Recipe rendering: a template plus name, version, bucket and artifact digests gives the recipe Greengrass gets.

Templates mark what ggctl fills in as ``@NAME@`` (distinct from Greengrass ``{ns:key}`` recipe variables and
from shell ``$VAR``); rendering fails on any placeholder it cannot resolve, so no template text reaches AWS.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from ggctl import models as model_files
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER, Artifact, Component

SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
S3_PREFIX = "s3://"
IPC_MQTT_PROXY = "aws.greengrass.ipc.mqttproxy"
IPC_PUBSUB = "aws.greengrass.ipc.pubsub"
IPC_SECRETS = "aws.greengrass.SecretManager"  # the IPC service identifier is the component's name
SECRET_MANAGER = "aws.greengrass.SecretManager"
#: Any Secret manager 2.x (the first, 2.0.4, serves GetSecretValue): each of its versions pins a nucleus range
#: (Secret manager component page, "Dependencies"), so the service picks the one that suits the core. HARD:
#: the component starts after the Secret manager runs, which syncs the ``cloudSecrets`` that ggctl deploys.
SECRET_MANAGER_REQUIREMENT = ">=2.0.4 <3.0.0"
#: Configuration keys holding Secrets Manager secret ARNs, rendered with ``ggctl build --secrets``. Only the
#: ARN is configuration; the component reads the value with GetSecretValue at run time.
SECRET_ARN_KEYS = {COUNTER.key: ("influx_token_secret_arn",), GRABBER.key: ("rtsp_secret_arn",)}
#: Secret ARN keys a component reads from its environment rather than over IPC configuration: the grabber's
#: container sees no component configuration, so its Run step passes the ARN (gst_grabber/secrets.py).
SECRET_ARN_ENV = {GRABBER.key: {"GRABBER_RTSP_SECRET_ARN": "rtsp_secret_arn"}}
#: Placeholders of the topic template; each becomes the MQTT wildcard + in accessControl.
TOPIC_FIELDS = ("thing", "camera")


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
    """The counter's topic tree as an accessControl resource: each level holding {thing} or {camera} as ``+``.

    No recipe variable: the Java nucleus interpolates ``{iot:thingName}`` in accessControl only when its
    interpolateComponentConfiguration is true, which defaults to false (component recipe reference, "Recipe
    variables"; IPC authorization, "Recipe variables in authorization policies"), so such a grant refuses
    every publish on a default core. MQTT wildcards are allowed in aws.greengrass.ipc.mqttproxy and
    aws.greengrass.ipc.pubsub resources (IPC "Publish/subscribe AWS IoT Core MQTT messages", "MQTT wildcards
    in authorization policies"; nucleus lite: ggipcd publish_to_iot_core.c, ggl_ipc_mqtt_policy_matcher).
    Least privilege: the template's fixed levels stay, and it must have one.
    """
    topic = str(configuration.get("topic", ""))
    marker = "\0"
    levels = []
    for level in topic.split("/"):
        try:
            filled = level.format(**{name: marker for name in TOPIC_FIELDS})
        except (KeyError, IndexError, ValueError):
            raise GgctlError(f"topic {topic!r} may only use the placeholders {{thing}} and {{camera}}") from None
        if any(char in filled for char in "#+*"):
            raise GgctlError(f"topic {topic!r} must be free of wildcards (#, +, *); use {{thing}} and {{camera}}")
        levels.append("+" if marker in filled else level)
    if not topic or all(level == "+" for level in levels):
        raise GgctlError(f"topic {topic!r} needs at least one fixed level, e.g. people-counter/{{thing}}/{{camera}}")
    return "/".join(levels)


def secret_arns(key: str, configuration: Mapping[str, Any]) -> list[str]:
    """The secret ARNs configured for component ``key``, checked to look like Secrets Manager ARNs."""
    arns = []
    for name in SECRET_ARN_KEYS[key]:
        value = configuration.get(name) or ""
        if value and not SECRET_ARN.match(str(value)):
            raise GgctlError(f"{name} must be a Secrets Manager secret ARN "
                             f"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), got {value!r}")
        if value:
            arns.append(str(value))
    return arns


def secrets_policy(name: str, arns: list[str]) -> dict:
    """GetSecretValue on exactly ``arns`` (Secret manager component, "IPC authorization": resources are ARNs)."""
    return {IPC_SECRETS: {f"{name}:secrets:1": {
        "policyDescription": "Read the configured Secrets Manager secrets only.",
        "operations": ["aws.greengrass#GetSecretValue"],
        "resources": sorted(arns),
    }}} if arns else {}


def access_control(name: str, configuration: Mapping[str, Any], key: str = COUNTER.key) -> dict:
    """A component's accessControl: the counter publishes on its topic tree, to IoT Core and (if on) locally;
    either component reads exactly its configured secrets."""
    policies = secrets_policy(name, secret_arns(key, configuration))
    if key != COUNTER.key:
        return policies
    resources = [publish_topic_resource(configuration)]
    policies[IPC_MQTT_PROXY] = {
        f"{name}:mqttproxy:1": {
            "policyDescription": "Publish counts to the configured IoT Core topic tree only.",
            "operations": ["aws.greengrass#PublishToIoTCore"],
            "resources": resources,
        }
    }
    if configuration.get("local_pubsub") is True:
        policies[IPC_PUBSUB] = {
            f"{name}:pubsub:1": {
                "policyDescription": "Publish counts on the configured local topic tree only.",
                "operations": ["aws.greengrass#PublishToTopic"],
                "resources": resources,
            }
        }
    return dict(sorted(policies.items()))


def check_counter_defaults(configuration: Mapping[str, Any]) -> None:
    """The counter template's DefaultConfiguration (generated from its schema) is what the counter accepts."""
    from count_people.config import configuration_errors

    errors = configuration_errors(dict(configuration), "counter recipe DefaultConfiguration")
    if errors:
        raise GgctlError(errors[0])


def default_configuration(root: Path, component: Component, secrets: bool = False,
                          models: Optional[Mapping[str, str]] = None) -> dict:
    """The component's DefaultConfiguration as rendered (placeholders aside), accessControl included.

    ``secrets`` adds the *_secret_arn keys (empty); the counter loses the keys whose files are packaged
    (``models``), which its Run step sets in the environment instead (ggctl/models.py).
    """
    template = load_template(root, component)
    configuration = dict(template.get("ComponentConfiguration", {}).get("DefaultConfiguration", {}))
    if secrets:
        configuration.update({key: "" for key in SECRET_ARN_KEYS[component.key]})
    if component.key == COUNTER.key:
        check_counter_defaults(configuration)
        for key in models or {}:
            configuration.pop(key, None)
        configuration["accessControl"] = access_control(component.name, configuration)
    return configuration


def _substitute(node: Any, values: Mapping[str, str], where: str, strict: bool = True) -> Any:
    """``node`` with @NAME@ placeholders filled; an unknown one is an error unless not ``strict`` (left as is)."""
    if isinstance(node, dict):
        return {_substitute(k, values, where, strict): _substitute(v, values, where, strict) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, values, where, strict) for item in node]
    if isinstance(node, str):
        def fill(match: re.Match) -> str:
            if match.group(1) not in values:
                if not strict:
                    return match.group(0)
                raise GgctlError(f"{where}: unknown placeholder {match.group(0)}")
            return values[match.group(1)]

        return PLACEHOLDER.sub(fill, node)
    return node


def _artifact_file(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def artifact_key(component: Component, file_name: str) -> str:
    """S3 key of an artifact: the layout GDK uses too (NAME/VERSION/FILE)."""
    return f"{component.name}/{component.version}/{file_name}"


def _manifests(recipe: dict, component: Component, artifacts: Sequence[Artifact], where: str) -> list[dict]:
    """The grabber's template manifest once per built architecture (Platform architecture, tarball, image ID).

    Greengrass picks the first manifest whose Platform matches the core (component recipe reference,
    "Manifests"); ``architecture`` takes the nucleus's names: amd64, aarch64, arm, x86 (nucleus lite:
    ggl-recipe/src/recipe.c get_current_architecture).
    """
    if component.key != GRABBER.key:
        return recipe.get("Manifests", [])
    if not artifacts or not all(a.architecture and a.image_id for a in artifacts):
        raise GgctlError(f"{component.name}: no built image with its architecture; run 'ggctl build {component.key}'")
    manifests = []
    for artifact in sorted(artifacts, key=lambda a: a.architecture):
        for template in recipe.get("Manifests", []):
            manifest = _substitute(copy.deepcopy(template), {"ARTIFACT": artifact.file, "IMAGE_ID": artifact.image_id},
                                   where, strict=False)
            manifest["Platform"] = {**manifest.get("Platform", {}), "architecture": artifact.architecture}
            manifests.append(manifest)
    return manifests


def render(
    root: Path,
    component: Component,
    components: Mapping[str, Component],
    bucket: str,
    digests: Mapping[str, str],
    artifacts: Sequence[Artifact] = (),
    secrets: bool = False,
    models: Optional[Mapping[str, str]] = None,
) -> dict:
    """The recipe of ``component``; ``digests`` maps artifact file names to base64 SHA-256 digests.

    ``artifacts`` (the grabber's, with architecture and image ID) gives one manifest per architecture;
    ``secrets`` declares the SecretManager dependency and the *_secret_arn keys; ``models`` maps counter
    Settings keys to model files packaged in the counter ZIP.
    """
    grabber = components[GRABBER.key]
    major = int(grabber.version.split(".")[0])
    values = {
        "COMPONENT_NAME": component.name,
        "COMPONENT_VERSION": component.version,
        "COMPONENT_PUBLISHER": component.publisher,
        "BUCKET": bucket,
        "IMAGE": grabber.image,
        "IMAGE_REPOSITORY": grabber.key,
        "CONTAINER_NAME": grabber.name,
        "GRABBER_NAME": grabber.name,
        "GRABBER_VERSION_REQUIREMENT": f">={grabber.version} <{major + 1}.0.0",
        "ARTIFACT": component.spec.artifact,
    }
    if component.key == GRABBER.key:  # filled per architecture by _manifests
        values.pop("ARTIFACT")
    template = load_template(root, component)
    template["Manifests"] = _manifests(template, component, artifacts, component.spec.template)
    recipe = _substitute(template, values, component.spec.template)
    recipe.setdefault("ComponentConfiguration", {})["DefaultConfiguration"] = default_configuration(
        root, component, secrets, models)
    if secrets:
        recipe.setdefault("ComponentDependencies", {})[SECRET_MANAGER] = {
            "VersionRequirement": SECRET_MANAGER_REQUIREMENT, "DependencyType": "HARD"}
        arn_env = {env: f"{{configuration:/{key}}}" for env, key in SECRET_ARN_ENV.get(component.key, {}).items()}
        for manifest in recipe.get("Manifests", []) if arn_env else []:
            run = manifest["Lifecycle"]["Run"]
            run["Setenv"] = {**run.get("Setenv", {}), **arn_env}
    if component.key == COUNTER.key and models:
        for manifest in recipe.get("Manifests", []):
            run = manifest["Lifecycle"]["Run"]
            run["Setenv"] = {**run.get("Setenv", {}), **model_files.environment(models)}
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


def dump(recipe: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(recipe), sort_keys=False, width=1000, allow_unicode=True)


def same_recipe(a: Any, b: Any) -> bool:
    """Whether two recipes (YAML/JSON text or parsed) say the same thing, whatever their formatting."""
    def parsed(recipe: Any) -> Any:
        return yaml.safe_load(recipe) if isinstance(recipe, (str, bytes)) else recipe

    return parsed(a) == parsed(b)
