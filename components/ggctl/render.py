"""Recipe rendering: a template plus name, version, bucket and artifact digests gives the recipe Greengrass gets.

Templates mark what ggctl fills in as ``@NAME@`` (distinct from Greengrass ``{ns:key}`` recipe variables and
from shell ``$VAR``); rendering fails on any placeholder it cannot resolve, so no template text reaches AWS.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from frame_handoff.keys import SECRET_ARN

from ggctl import models as model_files
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER, Artifact, Component

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
#: Placeholders of the topic template.
TOPIC_FIELDS = ("thing", "camera")
#: What a Java nucleus (2.6.0 and later) reads specially in any accessControl resource: it refuses a policy
#: holding ``?`` and reads ``${c}`` as an escape (aws-greengrass-nucleus v2.18.2
#: src/main/java/com/aws/greengrass/authorization/AuthorizationModule.java:64-92, WildcardTrie.java:148-155).
RESOURCE_SPECIALS = ("?", "${")
#: The thing level of a local pub/sub grant where the thing is not known: the rendered recipe serves every
#: device, a thing group deployment many, and no recipe variable is interpolated in accessControl by default
#: (KernelConfigResolver.java:166-175 only with interpolateComponentConfiguration, DeviceConfiguration.java:461
#: dflt(false)). PublishToTopic resources take no MQTT wildcard (PubSubIPCEventStreamAgent.java:329-331 checks
#: with the STANDARD lookup policy, AuthorizationHandler.java:254-255; WildcardTrie.matchesStandard:187-239
#: treats + and # as plain characters), but the glob * matches any run of characters, / included
#: (WildcardTrie.java:102-111 add, :205-228 matchesStandard; nucleus lite the same: ggipcd ipc_authz.c
#: ggl_ipc_default_policy_matcher). So people-counter/*/door also allows people-counter/a/b/door: the least
#: the nucleus can express. The glob needs Java nucleus 2.6.0 (WildcardTrie's first release; 2.5.x and older
#: match a pub/sub resource only whole: v2.5.6 AuthorizationModule.java:81 permissions.contains), so a
#: deployment to one thing grants its literal topics instead (ggctl deploy --target thing/NAME).
ANY_THING = "*"


def load_template(root: Path, component: Component) -> dict:
    path = root / component.spec.template
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GgctlError(f"cannot read recipe template {path}: {exc}") from None
    if not isinstance(recipe, dict):
        raise GgctlError(f"recipe template {path} must be a mapping")
    return recipe


def topic_filter(topic: str) -> str:
    """A topic template as an MQTT filter for aws.greengrass.ipc.mqttproxy: each level holding {thing} or
    {camera} becomes ``+``.

    MQTT wildcards are valid in mqttproxy resources on every Java nucleus (v2.0.3 MqttProxyIPCAgent.java:236-253
    MqttTopic.topicIsSupersetOf; v2.18.2 MqttProxyIPCAgent.java:310-313 with the MQTT_STYLE lookup policy,
    WildcardTrie.matchesMQTT) and on nucleus lite (ggipcd mqttproxy.c ggl_ipc_mqtt_policy_matcher). No recipe
    variable: see ANY_THING. Least privilege: the template's fixed levels stay, and it must have one.
    """
    marker = "\0"
    levels = []
    for level in topic.split("/"):
        try:
            filled = level.format(**{name: marker for name in TOPIC_FIELDS})
        except (KeyError, IndexError, ValueError):
            raise GgctlError(f"topic {topic!r} may only use the placeholders {{thing}} and {{camera}}") from None
        if any(char in filled for char in "#+*"):
            raise GgctlError(f"topic {topic!r} must be free of wildcards (#, +, *); use {{thing}} and {{camera}}")
        if any(special in filled for special in RESOURCE_SPECIALS):
            raise GgctlError(f"topic {topic!r} must be free of ? and ${{: Greengrass authorization policies read "
                             "them as a refused wildcard and an escape")
        levels.append("+" if marker in filled else level)
    if not topic or all(level == "+" for level in levels):
        raise GgctlError(f"topic {topic!r} needs at least one fixed level, e.g. people-counter/{{thing}}/{{camera}}")
    return "/".join(levels)


def counter_cameras(configuration: Mapping[str, Any]) -> list[Any]:
    """The counter's per-camera Settings under ``configuration`` (one for a single camera), parsed as the
    counter parses them, so that the grants name the topics it will publish on (each camera may set its own)."""
    from count_people.config import Settings
    from count_people.errors import UserError
    from frame_handoff.keys import in_recipe

    names = {key.name for key in in_recipe(Settings.options())}  # not publish, thing_name
    try:
        settings = Settings().updated({k: v for k, v in configuration.items() if k in names},
                                      origin="counter configuration")
        return settings.camera_settings()
    except UserError as exc:
        raise GgctlError(str(exc)) from None


def secret_arns(key: str, configuration: Mapping[str, Any]) -> list[str]:
    """The secret ARNs configured for component ``key``, checked to look like Secrets Manager ARNs."""
    arns = []
    for name in SECRET_ARN_KEYS[key]:
        value = configuration.get(name) or ""
        if value and not SECRET_ARN.fullmatch(str(value)):
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


def access_control(name: str, configuration: Mapping[str, Any], key: str = COUNTER.key,
                   thing: str | None = None) -> dict:
    """A component's accessControl: the counter publishes each camera's topic and its threshold events'
    ``<topic>/events`` (count_people/analytics/events.py) to IoT Core (MQTT filters: a + level matches one level
    only, so the events topic needs its own; aws-greengrass-nucleus v2.18.2
    src/main/java/com/aws/greengrass/builtin/services/mqttproxy/MqttProxyIPCAgent.java:310-313, MQTT_STYLE) and,
    with local_pubsub, locally (exactly those topics, the thing level ``thing`` or ANY_THING); either component
    reads exactly its configured secrets."""
    from count_people.config import events_topic

    policies = secrets_policy(name, secret_arns(key, configuration))
    if key != COUNTER.key:
        return policies
    if "topic" in configuration:  # the shared template's own message before the counter's parser's
        topic_filter(str(configuration["topic"]))
    cameras = counter_cameras(configuration)
    policies[IPC_MQTT_PROXY] = {
        f"{name}:mqttproxy:1": {
            "policyDescription": "Publish counts to the configured IoT Core topic tree only.",
            "operations": ["aws.greengrass#PublishToIoTCore"],
            "resources": sorted({topic for camera in cameras
                                 for topic in (topic_filter(camera.topic), events_topic(topic_filter(camera.topic)))}),
        }
    }
    if cameras[0].local_pubsub:  # one key for all cameras (not in count_people.config.CAMERA_KEYS)
        locals_ = [camera.topic.format(thing=thing or ANY_THING, camera=camera.camera_id) for camera in cameras]
        policies[IPC_PUBSUB] = {
            f"{name}:pubsub:1": {
                "policyDescription": "Publish counts locally on each camera's topic only.",
                "operations": ["aws.greengrass#PublishToTopic"],
                "resources": sorted({topic for local in locals_ for topic in (local, events_topic(local))}),
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
                          models: Mapping[str, str] | None = None) -> dict:
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
    models: Mapping[str, str] | None = None,
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
