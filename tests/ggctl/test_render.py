"""Recipe rendering: schema, placeholders, recipe variables, accessControl, configuration coverage, artifacts."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from ggctl import build, render
from ggctl.errors import GgctlError
from ggctl.models import ModelFiles
from ggctl.project import COUNTER, GRABBER, load_components
from ggctl_support import RECIPE_SCHEMA, ROOT, fake_grabber, gdk_built, gdk_component_build, project_copy

BUCKET = "people-counter-artifacts-eu-west-1-123456789012"
#: Recipe variables the nucleus resolves in lifecycle scripts (besides configuration:/KEY), with the Java nucleus
#: release that first resolves each; the oldest, 2.0.3, needs no dependency (aws-greengrass-nucleus v2.0.3
#: KernelConfigResolver.java:114-123 artifacts; v2.0.4 :64, :124 work; configuration:/ at v2.0.3 :404-417).
VARIABLE_SINCE = {"artifacts:path": "2.0.3", "artifacts:decompressedPath": "2.0.3", "work:path": "2.0.4"}
#: GRABBER_* options the recipe fixes rather than configures: the bind mount, the heartbeat beside the
#: frame, and the image's own gst-launch.
GRABBER_FIXED_ENV = {"GRABBER_OUTPUT_DIR", "GRABBER_STATUS_FILE", "GRABBER_GST_LAUNCH"}


def _render_all(out: Path, components: dict) -> dict[str, dict]:
    builds = build.built_artifacts(out, list(load_components(ROOT).values()))  # built under the default names
    return {key: build.render_built(ROOT, c, components, BUCKET, builds[key]) for key, c in components.items()}


@pytest.fixture
def recipes(built: Path, components: dict) -> dict[str, dict]:
    return _render_all(built, components)


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize("key", [COUNTER.key, GRABBER.key])
def test_recipe_has_every_required_field_and_no_template_text(recipes: dict, components: dict, key: str) -> None:
    recipe = recipes[key]
    jsonschema.validate(recipe, RECIPE_SCHEMA)
    assert (recipe["ComponentName"], recipe["ComponentVersion"]) == (components[key].name, components[key].version)
    text = render.dump(recipe)
    assert not render.PLACEHOLDER.search(text), render.PLACEHOLDER.findall(text)
    assert not re.search(r"\b(BUCKET_NAME|COMPONENT_NAME|COMPONENT_VERSION)\b", text)
    assert len(text.encode()) < 16000  # Greengrass' recipe size limit
    # Every recipe variable is one the nucleus knows, and every configuration one names a default key.
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    variables = {v for s in _strings(recipe) for v in re.findall(r"\{([A-Za-z]+:[^}]*)\}", s)}
    assert variables, "recipes use recipe variables"
    for variable in variables:
        if variable.startswith("configuration:/"):
            assert variable.removeprefix("configuration:/") in defaults, variable
        else:
            assert variable in VARIABLE_SINCE, variable


def test_the_nucleus_dependency_asks_only_what_the_lifecycles_need(recipes: dict) -> None:
    """Even a SOFT dependency's range takes part in resolution (DependencyResolver.java:249-253), so a core below
    it fails the deployment (NON_EXPLICIT_NUCLEUS_UPDATE, :187-194): the range is the oldest release that
    resolves every variable used (other features are in 2.0.3: the recipe's comment)."""
    for key, recipe in recipes.items():
        used = {v for s in _strings(recipe["Manifests"]) for v in re.findall(r"\{([a-zA-Z]+:[^}/]+)\}", s)}
        floor = max((VARIABLE_SINCE[v] for v in used), key=lambda v: tuple(map(int, v.split("."))), default="2.0.3")
        expected = {} if floor == "2.0.3" else {"aws.greengrass.Nucleus": {"VersionRequirement": f">={floor}",
                                                                          "DependencyType": "SOFT"}}
        declared = {k: v for k, v in recipe.get("ComponentDependencies", {}).items() if k == "aws.greengrass.Nucleus"}
        assert declared == expected, key


def test_artifact_uris_and_digests_match_the_built_files(recipes: dict, built: Path, components: dict) -> None:
    for key, info in build.built_artifacts(built, list(components.values())).items():
        component = components[key]
        (artifact,) = info.artifacts
        (manifest,) = recipes[key]["Manifests"]
        (entry,) = manifest["Artifacts"]
        assert entry["URI"] == f"s3://{BUCKET}/{render.artifact_key(component, artifact.file)}"
        assert entry["Digest"] == build.sha256_file(Path(artifact.path)) == artifact.sha256
    assert recipes[COUNTER.key]["Manifests"][0]["Artifacts"][0]["Unarchive"] == "ZIP"


def test_access_control_has_no_recipe_variable_and_only_the_topic_tree(recipes: dict) -> None:
    defaults = recipes[COUNTER.key]["ComponentConfiguration"]["DefaultConfiguration"]
    policies = defaults["accessControl"]
    assert list(policies) == [render.IPC_MQTT_PROXY]  # local_pubsub is off, no secret configured
    (policy,) = policies[render.IPC_MQTT_PROXY].values()
    assert policy["operations"] == ["aws.greengrass#PublishToIoTCore"]
    assert defaults["topic"] == "people-counter/{thing}/{camera}"
    assert policy["resources"] == ["people-counter/+/+", "people-counter/+/+/events"]
    # A default Java nucleus interpolates no recipe variable in accessControl: none may appear there.
    assert not [s for s in _strings(policies) if re.search(r"\{[^}]*:[^}]*\}", s)]

    for topic, message in (("t/#", "wildcards"), ("t/a+b/{camera}", "wildcards"), ("{thing}/{camera}", "fixed level"),
                           ("", "fixed level"), ("t/{user}", "only use the placeholders"),
                           ("t/a?/{camera}", "free of [?] and"), ("t/a${{b}}/{camera}", "free of [?] and")):
        with pytest.raises(GgctlError, match=message):
            render.access_control("n", {"topic": topic})


CAMERAS = [{"id": "entrance", "rtsp_url": "rtsp://10.0.0.5/s"},
           {"id": "platform", "topic": "transit/{camera}/{thing}/counts"}]


def test_local_pubsub_grants_each_cameras_topic_without_mqtt_wildcards() -> None:
    """PublishToTopic resources are matched without MQTT wildcards (PubSubIPCEventStreamAgent.java:329-331,
    WildcardTrie.matchesStandard): + is a literal, so people-counter/+/+ allowed no topic the counter publishes
    on. Each camera's own topic instead, the thing level as the glob * or, deployed to one thing, its name."""
    custom = render.access_control("n", {"topic": "shop/{camera}/x-{thing}/counts", "local_pubsub": True})
    assert custom[render.IPC_MQTT_PROXY]["n:mqttproxy:1"]["resources"] == [  # MQTT filters stay
        "shop/+/+/counts", "shop/+/+/counts/events"]
    assert custom[render.IPC_PUBSUB]["n:pubsub:1"] == {
        "policyDescription": "Publish counts locally on each camera's topic only.",
        "operations": ["aws.greengrass#PublishToTopic"],
        "resources": ["shop/camera-1/x-*/counts", "shop/camera-1/x-*/counts/events"],
    }
    several = render.access_control("n", {"local_pubsub": "true", "cameras": CAMERAS}, thing="cam-box-01")
    assert several[render.IPC_MQTT_PROXY]["n:mqttproxy:1"]["resources"] == [
        "people-counter/+/+", "people-counter/+/+/events", "transit/+/+/counts", "transit/+/+/counts/events"]
    assert several[render.IPC_PUBSUB]["n:pubsub:1"]["resources"] == [
        "people-counter/cam-box-01/entrance", "people-counter/cam-box-01/entrance/events",
        "transit/platform/cam-box-01/counts", "transit/platform/cam-box-01/counts/events"]
    assert render.IPC_PUBSUB not in render.access_control("n", {"cameras": CAMERAS})
    with pytest.raises(GgctlError, match=r"cameras\[1\].topic"):
        render.access_control("n", {"cameras": [CAMERAS[0], {"id": "x", "topic": "a/#"}]})
    with pytest.raises(GgctlError, match="fixed level"):
        render.access_control("n", {"cameras": [{"id": "x", "topic": "{camera}/{thing}"}]})


def test_the_grants_let_each_cameras_topic_through_a_strict_nucleus() -> None:
    """gg_ipc_local matches as the Java nucleus does (mqttproxy MQTT-style, pub/sub STANDARD): every topic the
    counter publishes on, its threshold events' included (aws-greengrass-nucleus v2.18.2
    src/main/java/com/aws/greengrass/builtin/services/mqttproxy/MqttProxyIPCAgent.java:310-313, MQTT_STYLE: a +
    matches one level, so people-counter/+/+ alone refuses people-counter/T/C/events), passes both grants, and
    another camera's topic does not pass the local one."""
    from count_people.config import Settings, events_topic
    from gg_ipc_local.recipe import MQTT_PROXY, PUBSUB, Recipe

    configuration = {"topic": "people-counter/{thing}/{camera}", "local_pubsub": True, "cameras": CAMERAS}
    for where in ({}, {"thing": "cam-box-01"}):  # the rendered recipe; a deployment to that thing
        policies = render.access_control("n", configuration, **where)
        recipe = Recipe("n", {"accessControl": policies})
        cameras = Settings(thing_name="cam-box-01").updated({"cameras": CAMERAS}).camera_settings()
        topics = [c.topic.format(thing=c.thing_name, camera=c.camera_id) for c in cameras]  # loop/camera.py
        topics += [events_topic(topic) for topic in topics]  # analytics/hook.py
        for topic in topics:
            assert recipe.authorized(MQTT_PROXY, "aws.greengrass#PublishToIoTCore", topic), topic
            assert recipe.authorized(PUBSUB, "aws.greengrass#PublishToTopic", topic), topic
        assert not recipe.authorized(PUBSUB, "aws.greengrass#PublishToTopic", "people-counter/cam-box-01/other")


def test_counter_configuration_holds_every_setting(recipes: dict) -> None:
    from count_people.config import Settings
    from count_people.greengrass import GREENGRASS_KEYS

    defaults = recipes[COUNTER.key]["ComponentConfiguration"]["DefaultConfiguration"]
    settings_keys = {f.name for f in Settings.options()} - {"publish", "thing_name"}  # Run step, device
    recipe_only = set(defaults) - settings_keys
    assert settings_keys <= set(defaults)
    # The counter reads this configuration over IPC and must ignore exactly the recipe's own keys.
    assert recipe_only <= GREENGRASS_KEYS, recipe_only - GREENGRASS_KEYS
    parsed = Settings().updated({k: defaults[k] for k in settings_keys})
    assert parsed.source == "/tmp/data/frame.jpg" and parsed.classes == ("person",)
    lifecycle = recipes[COUNTER.key]["Manifests"][0]["Lifecycle"]
    assert "--publish ipc" in lifecycle["Run"]["Script"] and "count-people" in lifecycle["Run"]["Script"]
    assert "RequiresPrivilege" not in lifecycle["Install"]  # pip into the work folder needs no root


def test_grabber_configuration_holds_every_option(recipes: dict) -> None:
    from frame_handoff.keys import config_key, parse_key
    from gst_grabber.config import OPTIONS, GrabberConfig, env_var

    recipe = recipes[GRABBER.key]
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    run = recipe["Manifests"][0]["Lifecycle"]["Run"]
    config_defaults = GrabberConfig(url="")
    for option in OPTIONS:
        if env_var(option) in GRABBER_FIXED_ENV:
            continue
        key = config_key(option)
        assert run["Setenv"][env_var(option)] == f"{{configuration:/{key}}}"
        assert f"-e {env_var(option)} " in run["Script"] + " "  # passed by name: the value stays off argv
        if key != "rtsp_url":
            parsed = parse_key(option, str(defaults[key]))
            assert str(parsed).lower() == str(getattr(config_defaults, option.name)).lower()
    assert defaults["rtsp_url"] == ""  # never a literal camera password in the recipe
    script = run["Script"]
    assert "--rm" in script and "--restart" not in script and '--user "$(id -u):$(id -g)"' in script
    assert f'--name "{recipe["ComponentName"]}"' in script
    assert "source={configuration:/frame_dir},target=/tmp/data" in script
    lifecycle = recipe["Manifests"][0]["Lifecycle"]
    assert "docker load" in lifecycle["Install"]["Script"] and lifecycle["Install"]["Timeout"] >= 900
    assert lifecycle["Shutdown"]["Script"].startswith("docker stop") and recipe["ComponentName"] in lifecycle[
        "Shutdown"]["Script"]


def test_names_are_overridable(built: Path) -> None:
    components = load_components(ROOT, {"count_people": "com.acme.Counter", "gst-grabber": "com.acme.Grabber"})
    recipes = _render_all(built, components)
    counter, grabber = recipes[COUNTER.key], recipes[GRABBER.key]
    assert counter["ComponentName"] == "com.acme.Counter"
    assert counter["ComponentDependencies"]["com.acme.Grabber"] == {
        "VersionRequirement": ">=1.0.0 <2.0.0", "DependencyType": "SOFT"}
    policies = counter["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"][render.IPC_MQTT_PROXY]
    assert list(policies) == ["com.acme.Counter:mqttproxy:1"]
    assert counter["Manifests"][0]["Artifacts"][0]["URI"].startswith(f"s3://{BUCKET}/com.acme.Counter/1.0.0/")
    assert '--name "com.acme.Grabber"' in grabber["Manifests"][0]["Lifecycle"]["Run"]["Script"]
    with pytest.raises(GgctlError, match="unknown component"):
        load_components(ROOT, {"nope": "x"})


def test_counter_zip_is_reproducible_and_complete(tmp_path: Path, components: dict) -> None:
    counter = components[COUNTER.key]
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build._WHEELS.clear()  # the second build runs pip wheel again
    build.build_counter_zip(ROOT, counter, first)
    build._WHEELS.clear()
    build.build_counter_zip(ROOT, counter, second)
    assert first.read_bytes() == second.read_bytes()
    archive = zipfile.ZipFile(first)
    wheel_name = f"count_people_component-{counter.version}-py3-none-any.whl"
    assert set(archive.namelist()) == {"install.sh", "requirements.txt", "requirements-mxnet.txt",
                                       "requirements-numpy.txt", wheel_name}
    wheel = zipfile.ZipFile(io.BytesIO(archive.read(wheel_name)))
    names = wheel.namelist()
    assert {"count_people/__init__.py", "count_people/cli.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry_points = wheel.read(f"count_people_component-{counter.version}.dist-info/entry_points.txt").decode()
    assert "count-people = count_people.cli:main" in entry_points
    for line in (ROOT / "recipes/count_people/requirements.txt").read_text().splitlines():
        assert not line.strip() or line.startswith("#") or "==" in line, f"unpinned requirement {line!r}"


def test_gdk_component_build_of_the_counter_from_its_recipes_folder(tmp_path: Path) -> None:
    """`cd recipes/count_people && gdk component build`: GDK finds its project there, the custom build leaves
    what `gdk component publish` reads (the recipe under recipe.yaml, the ZIP under NAME/VERSION)."""
    project = project_copy(tmp_path / "project")
    folder = project / COUNTER.gdk_dir
    result = gdk_component_build(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    counter = load_components(project)[COUNTER.key]
    recipe, artifacts = gdk_built(folder)
    assert artifacts == [COUNTER.artifact]
    assert recipe["ComponentName"] == counter.name
    uri = f"s3://{build.GDK_BUCKET}/{counter.name}/{counter.version}/{COUNTER.artifact}"
    assert recipe["Manifests"][0]["Artifacts"][0]["URI"] == uri  # GDK's placeholder: publish names the bucket
    archive = zipfile.ZipFile(folder / build.GDK_BUILD_DIR / "artifacts" / counter.name / counter.version
                              / artifacts[0])
    assert not {"recipe.yaml", "gdk-config.json"} & set(archive.namelist())  # the GDK project is not in the ZIP


def test_secrets_build_declares_the_secret_manager_and_the_arn_keys(built: Path, components: dict) -> None:
    builds = build.built_artifacts(built, list(components.values()))
    for key, component in components.items():
        plain = build.render_built(ROOT, component, components, BUCKET, builds[key])
        assert render.SECRET_MANAGER not in plain.get("ComponentDependencies", {})
        assert not set(render.SECRET_ARN_KEYS[key]) & set(plain["ComponentConfiguration"]["DefaultConfiguration"])
        recipe = build.render_built(ROOT, component, components, BUCKET, dataclasses.replace(builds[key], secrets=True))
        jsonschema.validate(recipe, RECIPE_SCHEMA)
        assert recipe["ComponentDependencies"][render.SECRET_MANAGER] == {
            "VersionRequirement": ">=2.0.4 <3.0.0", "DependencyType": "HARD"}
        defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
        assert {k: defaults[k] for k in render.SECRET_ARN_KEYS[key]} == dict.fromkeys(render.SECRET_ARN_KEYS[key], "")
        assert render.IPC_SECRETS not in defaults.get("accessControl", {})  # no ARN yet, no grant
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cam-01/rtsp-AbCdEf"
    assert render.access_control("g", {"rtsp_secret_arn": arn}, GRABBER.key) == {render.IPC_SECRETS: {"g:secrets:1": {
        "policyDescription": "Read the configured Secrets Manager secrets only.",
        "operations": ["aws.greengrass#GetSecretValue"], "resources": [arn]}}}
    with pytest.raises(GgctlError, match="rtsp_secret_arn must be a Secrets Manager secret ARN"):
        render.access_control("g", {"rtsp_secret_arn": "rtsp://admin:pw@cam/1"}, GRABBER.key)


def test_one_grabber_manifest_per_built_architecture(built: Path, components: dict) -> None:
    grabber = components[GRABBER.key]
    amd64 = fake_grabber(built, grabber, b"amd64 image", "amd64")
    arm = dataclasses.replace(fake_grabber(built, grabber, b"arm64 image", "aarch64"), image_id="sha256:" + "cd" * 32)
    build.record(built, GRABBER.key, build.Built([amd64, arm]))
    recipe = _render_all(built, components)[GRABBER.key]
    jsonschema.validate(recipe, RECIPE_SCHEMA)
    assert [m["Platform"] for m in recipe["Manifests"]] == [{"os": "linux", "architecture": "aarch64"},
                                                            {"os": "linux", "architecture": "amd64"}]
    for manifest, artifact in zip(recipe["Manifests"], (arm, amd64)):
        (entry,) = manifest["Artifacts"]
        assert entry["URI"].endswith(f"/{grabber.name}/1.0.0/gst-grabber-{artifact.architecture}.tar.gz")
        assert entry["Digest"] == artifact.sha256
        install = manifest["Lifecycle"]["Install"]["Script"]
        assert f'want="{artifact.image_id}"' in install and f"gst-grabber-{artifact.architecture}.tar.gz" in install
    build.record(built, GRABBER.key, build.Built([dataclasses.replace(amd64, image_id="")]))
    with pytest.raises(GgctlError, match="no built image with its architecture"):
        _render_all(built, components)


def test_packaged_model_reaches_the_counter_through_its_run_environment(tmp_path: Path, components: dict) -> None:
    from count_people.config import load_settings

    model, labels = tmp_path / "people.onnx", tmp_path / "people.names"
    model.write_bytes(b"onnx graph bytes")
    labels.write_text("person\n")
    files = ModelFiles(model=model, labels=labels)
    out = tmp_path / "out"
    (artifact,), errors = build.build_all(ROOT, components, [components[COUNTER.key]], out,
                                          build.BuildOptions(models=files), BUCKET, report=lambda _: None)
    assert not errors
    recipe = yaml.safe_load((out / "recipes" / "com.example.count_people-1.0.0.yaml").read_text())
    jsonschema.validate(recipe, RECIPE_SCHEMA)
    run = recipe["Manifests"][0]["Lifecycle"]["Run"]
    assert run["Setenv"] == {"COUNT_PEOPLE_LABELS": "{artifacts:decompressedPath}/count_people/models/people.names",
                             "COUNT_PEOPLE_MODEL": "{artifacts:decompressedPath}/count_people/models/people.onnx"}
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    assert "model" not in defaults and "labels" not in defaults and "params" in defaults
    # What the nucleus does: unpack the ZIP under decompressedPath/count_people, resolve Setenv, start Run;
    # the counter then reads the component configuration over IPC (the defaults) besides the environment.
    decompressed = tmp_path / "packages" / "artifacts-unarchived" / "com.example.count_people" / "1.0.0"
    zipfile.ZipFile(artifact.path).extractall(decompressed / "count_people")
    environ = {k: v.replace("{artifacts:decompressedPath}", str(decompressed)) for k, v in run["Setenv"].items()}
    from count_people.greengrass import GREENGRASS_KEYS

    configuration = {k: v for k, v in defaults.items() if k not in GREENGRASS_KEYS}
    settings = load_settings({}, environ, None, greengrass=configuration)
    assert Path(settings.model).read_bytes() == b"onnx graph bytes"
    assert Path(settings.labels).read_text() == "person\n"

    with pytest.raises(GgctlError, match="expected an ONNX"):
        ModelFiles(model=labels).files()
    with pytest.raises(GgctlError, match="no such file"):
        ModelFiles(params=tmp_path / "missing.params").files()
