"""`ggctl deploy` and `ggctl status`: request shapes through Stubber, configuration merges, dry run."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from ggctl import build, commands, deployments, render
from ggctl.aws import Aws
from ggctl.cli import main
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER
from ggctl_support import ACCOUNT, REGION, ROOT

SECRET_URL = "rtsp://admin:s3cret-pass@10.0.0.5:554/stream1"
DEPLOYMENT_ID = "a1b2c3d4-5678-90ab-cdef-111122223333"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def context(aws: Aws, components: dict, tmp_path: Path, lines: list, dry_run: bool = False) -> commands.Context:
    return commands.Context(ROOT, components, aws, tmp_path / "out", dry_run, lines.append)


GROUP = "shop-cameras"
GROUP_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{GROUP}"
OTHER = "com.acme.DoorSensor"
LOG_MANAGER = "aws.greengrass.LogManager"
LOG_MANAGER_MERGE = json.dumps({"logsUploaderConfiguration": {"systemLogsConfiguration": {
    "uploadToCloudWatch": "true"}}})
POLICIES = {"failureHandlingPolicy": "DO_NOTHING",
            "componentUpdatePolicy": {"timeoutInSeconds": 120, "action": "SKIP_NOTIFY_COMPONENTS"}}
JOB_CONFIG = {"timeoutConfig": {"inProgressTimeoutInMinutes": 30}}


def group_deployment(components: dict, counter_merge: dict | None = None) -> dict:
    """A thing group's current deployment as GetDeployment answers: the log manager, another component, and
    (with ``counter_merge``) our counter deployed earlier."""
    specs = {
        LOG_MANAGER: {"componentVersion": "2.3.7", "configurationUpdate": {"merge": LOG_MANAGER_MERGE}},
        OTHER: {"componentVersion": "3.1.0", "runWith": {"posixUser": "sensor:sensor"}},
    }
    if counter_merge is not None:
        specs[components[COUNTER.key].name] = {"componentVersion": "0.9.0", "configurationUpdate": {
            "merge": json.dumps(counter_merge), "reset": ["/accessControl"]}}
    return {"targetArn": GROUP_ARN, "revisionId": "7", "deploymentId": DEPLOYMENT_ID, "deploymentName": "shop",
            "deploymentStatus": "ACTIVE", "components": specs, "deploymentPolicies": POLICIES,
            "iotJobConfiguration": JOB_CONFIG, "isLatestForTarget": True, "tags": {"team": "retail"}}


def summary(deployment: dict) -> dict:
    """A deployment as ListDeployments lists it."""
    return {key: deployment[key] for key in ("targetArn", "revisionId", "deploymentId", "deploymentName",
                                             "deploymentStatus", "isLatestForTarget") if key in deployment}


def expect_current(stubber: Stubber, deployment: dict | None, target_arn: str = GROUP_ARN,
                   older_status: str = "INACTIVE") -> None:
    """ListDeployments of every revision (two pages: the latest, then an older revision, as the service need not
    sort them) and GetDeployment of the latest; ``deployment`` None: the target has none."""
    older = {"targetArn": target_arn, "revisionId": "1", "deploymentId": "old-one", "deploymentName": "old",
             "creationTimestamp": "2024-01-01T00:00:00Z", "deploymentStatus": older_status,
             "isLatestForTarget": False}
    first = [] if deployment is None else [summary(deployment)]
    stubber.add_response("list_deployments", {"deployments": first, "nextToken": "page-2"},
                         {"targetArn": target_arn, "historyFilter": "ALL"})
    stubber.add_response("list_deployments", {"deployments": [] if deployment is None else [older]},
                         {"targetArn": target_arn, "historyFilter": "ALL", "nextToken": "page-2"})
    if deployment is not None:
        stubber.add_response("get_deployment", deployment, {"deploymentId": deployment["deploymentId"]})


def captured_deployment(stubber: Stubber, aws: Aws, deployment_id: str = "new-id") -> dict:
    """Queues CreateDeployment and returns the dict its request will be copied into."""
    captured: dict = {}
    stubber.add_response("create_deployment", {"deploymentId": deployment_id}, None)
    original = aws.greengrass().create_deployment
    aws.greengrass().create_deployment = lambda **r: captured.update(r) or original(**r)  # type: ignore
    return captured


def test_deploy_to_a_group_keeps_its_other_components_and_settings(aws: Aws, components: dict,
                                                                   tmp_path: Path) -> None:
    grabber, counter = components[GRABBER.key], components[COUNTER.key]
    previous = {"camera_id": "door", "threshold": 0.7, "topic": "people-counter/{thing}/{camera}",
                "local_pubsub": False, "accessControl": {"old": "grant"}}
    current = group_deployment(components, previous)
    config = write_config(tmp_path, f"""
gst-grabber: {{rtsp_url: "{SECRET_URL}", max_fps: 2}}
count_people: {{threshold: 0.6, topic: "shop/{{thing}}/{{camera}}/people"}}
""")
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, current)
        captured = captured_deployment(stubber, aws)
        commands.run_deploy(context(aws, components, tmp_path, lines), f"thinggroup/{GROUP}", config, {}, None)
        stubber.assert_no_pending_responses()
    # Everything else survives: other components as they were, policies, job configuration, name, tags.
    assert captured["components"][LOG_MANAGER] == current["components"][LOG_MANAGER]
    assert captured["components"][OTHER] == current["components"][OTHER]
    assert captured["deploymentPolicies"] == POLICIES and captured["iotJobConfiguration"] == JOB_CONFIG
    assert captured["deploymentName"] == "shop" and captured["tags"] == {"team": "retail"}
    assert captured["targetArn"] == GROUP_ARN
    # Ours are added (grabber) or updated (counter), the earlier counter merge carried forward and updated.
    counter_spec = captured["components"][counter.name]
    assert counter_spec["componentVersion"] == counter.version
    assert counter_spec["configurationUpdate"]["reset"] == ["/accessControl"]
    merge = json.loads(counter_spec["configurationUpdate"]["merge"])
    assert merge["camera_id"] == "door" and merge["threshold"] == 0.6  # kept / updated
    assert merge["topic"] == "shop/{thing}/{camera}/people" and merge["local_pubsub"] is False
    assert merge["accessControl"] == {render.IPC_MQTT_PROXY: {f"{counter.name}:mqttproxy:1": {
        "policyDescription": "Publish counts to the configured IoT Core topic tree only.",
        "operations": ["aws.greengrass#PublishToIoTCore"], "resources": ["shop/+/+/people", "shop/+/+/people/events"]}}}
    grabber_spec = captured["components"][grabber.name]
    assert json.loads(grabber_spec["configurationUpdate"]["merge"]) == {"max_fps": 2, "rtsp_url": SECRET_URL}
    assert set(captured["components"]) == {LOG_MANAGER, OTHER, grabber.name, counter.name}
    # The difference is printed, passwords masked; the deployment id last.
    text = "\n".join(lines)
    assert lines[0] == f"revising deployment {DEPLOYMENT_ID} of {GROUP_ARN} (revision 7):"
    assert "s3cret-pass" not in text and "rtsp://admin:***@10.0.0.5:554/stream1" in text
    changed = {line[0] + line[1:].strip() for line in lines if line[:1] in "+-"}
    assert {f'+"{grabber.name}": {{', '-"threshold": 0.7,', '+"threshold": 0.6,', '-"componentVersion": "0.9.0",',
            '+"/accessControl"'} <= changed
    assert not [line for line in lines if LOG_MANAGER in line and line[:1] in "+-"]
    assert lines[-1] == "new-id"


def test_dry_run_prints_the_difference_and_creates_nothing(aws: Aws, components: dict, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path, f"gst-grabber: {{rtsp_url: '{SECRET_URL}'}}\n")
    with Stubber(aws.greengrass()) as stubber:  # no create_deployment queued: calling it would fail the test
        expect_current(stubber, group_deployment(components))
        code = main(["--root", str(ROOT), "deploy", "--target", f"thinggroup/{GROUP}", "--config", str(config),
                     "--version", "count_people=1.2.3", "--deployment-name", "lobby", "--out", str(tmp_path / "o"),
                     "--dry-run", "--output", "json"], aws=aws)
        stubber.assert_no_pending_responses()
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    assert result["dryRun"] is True and "deploymentId" not in result and result["revises"] == DEPLOYMENT_ID
    request = result["request"]
    assert request["deploymentName"] == "lobby"
    assert request["components"][components[COUNTER.key].name]["componentVersion"] == "1.2.3"
    assert request["components"][LOG_MANAGER]["componentVersion"] == "2.3.7"
    assert request["components"][components[GRABBER.key].name]["configurationUpdate"]["merge"] == {
        "rtsp_url": "rtsp://admin:***@10.0.0.5:554/stream1"}
    assert '-  "deploymentName": "shop",' in result["diff"] and '+  "deploymentName": "lobby",' in result["diff"]
    assert "s3cret-pass" not in captured.out + captured.err
    # Plain rtsp_url works, with a warning that it is stored in the deployment.
    assert "warning: rtsp_url holds a camera password, which is stored in the deployment document" in captured.err
    assert not (tmp_path / "o" / commands.STATE).exists()


def test_first_deployment_to_a_thing_and_secret_arns(aws: Aws, aws_env: str, components: dict,
                                                     tmp_path: Path) -> None:
    """No deployment yet: ours with default policies; secret ARNs bring the Secret manager and exact grants."""
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=aws_env)
    password = "very-secret-camera-password"
    camera = secrets.create_secret(Name="cam-01/rtsp", SecretString=f"rtsp://admin:{password}@10.0.0.5/s")["ARN"]
    token = secrets.create_secret(Name="influx-token", SecretString="influx-token-value")["ARN"]
    config = write_config(tmp_path, f"gst-grabber: {{rtsp_secret_arn: '{camera}'}}\n"
                                    f"count_people: {{influx_token_secret_arn: '{token}'}}\n")
    thing_arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/cam-01"
    public = f"arn:aws:greengrass:{REGION}:aws:components:{render.SECRET_MANAGER}"
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, None, thing_arn)
        stubber.add_response("list_component_versions", {"componentVersions": [
            {"componentName": render.SECRET_MANAGER, "componentVersion": v, "arn": f"{public}:versions:{v}"}
            for v in ("2.1.9", "2.10.0", "2.2.0")]}, {"arn": public})
        captured = captured_deployment(stubber, aws, "first")
        build.record(tmp_path / "out", GRABBER.key, build.Built([], secrets=False))  # built without --secrets
        ctx = context(aws, components, tmp_path, [])
        commands.run_deploy(ctx, "thing/cam-01", config, {}, None)
        stubber.assert_no_pending_responses()
    (warning,) = ctx.result["warnings"]
    assert warning.startswith(f"{components[GRABBER.key].name} was built without --secrets")
    assert captured["deploymentPolicies"]["failureHandlingPolicy"] == "ROLLBACK"
    assert captured["deploymentName"] == "people-counter-thing-cam-01"
    specs = captured["components"]
    assert specs[render.SECRET_MANAGER]["componentVersion"] == "2.10.0"  # the newest, by semver
    assert json.loads(specs[render.SECRET_MANAGER]["configurationUpdate"]["merge"]) == {
        "cloudSecrets": [{"arn": camera}, {"arn": token}]}  # sorted
    for component, arn in ((components[GRABBER.key], camera), (components[COUNTER.key], token)):
        merge = json.loads(specs[component.name]["configurationUpdate"]["merge"])
        assert merge["accessControl"][render.IPC_SECRETS] == {f"{component.name}:secrets:1": {
            "policyDescription": "Read the configured Secrets Manager secrets only.",
            "operations": ["aws.greengrass#GetSecretValue"], "resources": [arn]}}
    document = json.dumps(captured)
    assert camera in document and token in document
    assert password not in document and "influx-token-value" not in document


def test_status_pages_through_everything_and_takes_options_after_the_command(
        aws: Aws, components: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    deployment = {"deploymentId": "d-0", "deploymentName": "lobby", "targetArn": "arn:aws:iot:x:1:thing/cam-01",
                  "coreDeviceExecutionStatus": "SUCCEEDED", "creationTimestamp": "2024-01-01T00:00:00Z",
                  "modifiedTimestamp": "2024-01-01T00:00:00Z"}
    with Stubber(aws.greengrass()) as stubber:
        for page in range(3):
            stubber.add_response("list_effective_deployments", {
                "effectiveDeployments": [{**deployment, "deploymentId": f"d-{page}"}],
                **({"nextToken": f"t{page + 1}"} if page < 2 else {})},
                {"coreDeviceThingName": "cam-01", **({"nextToken": f"t{page}"} if page else {})})
        for page in range(2):
            stubber.add_response("list_installed_components", {
                "installedComponents": [{"componentName": f"c{page}", "componentVersion": "1.0.0",
                                         "lifecycleState": "RUNNING"}],
                **({"nextToken": "n1"} if page == 0 else {})},
                {"coreDeviceThingName": "cam-01", "topologyFilter": "ALL", **({"nextToken": "n1"} if page else {})})
        code = main(["--root", str(ROOT), "status", "--target", "thing/cam-01", "--output", "json",
                     "--region", REGION, "--out", str(tmp_path)], aws=aws)
        stubber.assert_no_pending_responses()
    assert code == 0
    device = json.loads(capsys.readouterr().out)["device"]
    assert [d["deploymentId"] for d in device["effectiveDeployments"]] == ["d-0", "d-1", "d-2"]
    assert [c["componentName"] for c in device["installedComponents"]] == ["c0", "c1"]


def test_status_of_a_group_shows_its_current_deployment(aws: Aws, components: dict, tmp_path: Path) -> None:
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, group_deployment(components))
        commands.run_status(context(aws, components, tmp_path, lines), None, f"thinggroup/{GROUP}")
        stubber.assert_no_pending_responses()
    assert lines == [f"deployment {DEPLOYMENT_ID} (shop) -> {GROUP_ARN}: ACTIVE",
                     f"  {LOG_MANAGER} 2.3.7", f"  {OTHER} 3.1.0"]


@pytest.mark.parametrize(("text", "message"), [
    ("count_people: {thresold: 0.5}", "unknown or ggctl-managed key thresold"),
    ("count_people: {detection: {thresold: 0.5}}", "unknown or ggctl-managed key thresold"),
    ("count_people: {accessControl: {}}", "unknown or ggctl-managed key accessControl"),
    ("count_people: {threshold: 2}", "bad value for threshold"),
    ("gst-grabber: {rtsp_url: 'http://x'}", "bad value for rtsp_url (hidden"),
    ("gst-grabber: {transport: carrier-pigeon}", "bad value for transport"),
    ("camera: {x: 1}", "unknown component 'camera'"),
    ("count_people: [1]", "must be a mapping"),
])
def test_bad_configuration_fails_before_any_call(aws: Aws, components: dict, tmp_path: Path, text: str,
                                                 message: str) -> None:
    with Stubber(aws.greengrass()), pytest.raises(GgctlError, match=message.replace("(", r"\(")):
        commands.run_deploy(context(aws, components, tmp_path, []), "thing/x", write_config(tmp_path, text), {}, None)


def test_a_counter_section_is_deployed_as_its_flat_keys(components: dict) -> None:
    from ggctl import configuration

    merge = {"detection": {"threshold": 0.6}, "publishing": {"topic": "shop/{thing}/{camera}"}, "max_fps": 2}
    assert configuration.checked_merge(ROOT, components[COUNTER.key], merge) == {
        "threshold": 0.6, "topic": "shop/{thing}/{camera}", "max_fps": 2}


def test_bad_target_and_device_status(aws: Aws, components: dict, tmp_path: Path) -> None:
    with pytest.raises(GgctlError, match="--target must be thing/NAME or thinggroup/NAME"):
        commands.run_deploy(context(aws, components, tmp_path, []), "group/x", None, {}, None)
    with pytest.raises(GgctlError, match="--version: unknown component camera"):
        commands.run_deploy(context(aws, components, tmp_path, []), "thing/x", None, {"camera": "1.0.0"}, None)
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_response("list_effective_deployments", {"effectiveDeployments": [{
            "deploymentId": DEPLOYMENT_ID, "deploymentName": "lobby", "targetArn": "arn:aws:iot:x:1:thing/cam-01",
            "coreDeviceExecutionStatus": "FAILED", "reason": "Install timed out",
            "creationTimestamp": "2024-01-01T00:00:00Z", "modifiedTimestamp": "2024-01-01T00:00:00Z"}]},
            {"coreDeviceThingName": "cam-01"})
        stubber.add_response("list_installed_components", {"installedComponents": [{
            "componentName": components[COUNTER.key].name, "componentVersion": "1.0.0",
            "lifecycleState": "BROKEN", "lifecycleStateDetails": "exit 2"}]},
            {"coreDeviceThingName": "cam-01", "topologyFilter": "ALL"})
        commands.run_status(context(aws, components, tmp_path, lines), None, "thing/cam-01")
        stubber.assert_no_pending_responses()
    assert lines == ["core device cam-01:", f"  deployment {DEPLOYMENT_ID} (lobby): FAILED - Install timed out",
                     f"  {components[COUNTER.key].name} 1.0.0: BROKEN - exit 2"]


def test_a_canceled_latest_deployment_is_revised_not_replaced(aws: Aws, components: dict, tmp_path: Path) -> None:
    """The latest revision was canceled (and, as ListDeployments may list it, not marked isLatestForTarget):
    its devices still run it, so the revision starts from it; a bare replacement would remove the log manager
    and the door sensor from every device of the group (API reference, CreateDeployment)."""
    current = {**group_deployment(components), "deploymentStatus": "CANCELED", "isLatestForTarget": False}
    ctx = context(aws, components, tmp_path, [])
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, current, older_status="ACTIVE")
        captured = captured_deployment(stubber, aws)
        commands.run_deploy(ctx, f"thinggroup/{GROUP}", None, {}, None)
        stubber.assert_no_pending_responses()
    assert {LOG_MANAGER, OTHER} <= set(captured["components"])
    assert captured["deploymentPolicies"] == POLICIES and ctx.result["revises"] == DEPLOYMENT_ID
    (warning,) = ctx.result["warnings"]
    assert warning.startswith(f"the latest deployment of {GROUP_ARN} ({DEPLOYMENT_ID}) was canceled")


def test_replace_deploys_ours_alone_only_when_asked(aws: Aws, components: dict, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, group_deployment(components))
        captured = captured_deployment(stubber, aws)
        code = main(["--root", str(ROOT), "deploy", "--target", f"thinggroup/{GROUP}", "--replace",
                     "--out", str(tmp_path / "o")], aws=aws)
        stubber.assert_no_pending_responses()
    assert code == 0
    assert set(captured["components"]) == {c.name for c in components.values()}
    assert captured["deploymentPolicies"] == deployments.DEFAULT_POLICIES
    out = capsys.readouterr().out
    assert f"replacing deployment {DEPLOYMENT_ID} of {GROUP_ARN} (--replace)" in out
    assert f'-    "{LOG_MANAGER}": {{' in out.splitlines()


CAMERAS = [{"id": "entrance", "rtsp_url": "rtsp://10.0.0.5/s"}, {"id": "platform", "rtsp_url": "rtsp://10.0.0.6/s"}]


@pytest.mark.parametrize(("target", "thing_level"), [(f"thinggroup/{GROUP}", "*"), ("thing/cam-box-01", "cam-box-01")])
def test_the_local_grant_follows_the_cameras_deployed(aws: Aws, components: dict, tmp_path: Path, target: str,
                                                      thing_level: str) -> None:
    """Earlier: one camera, local_pubsub on. Now two others: the local grant names exactly their topics (the thing
    level literal when the target is one thing), and cameras is deployed explicitly beside it."""
    counter = components[COUNTER.key]
    current = group_deployment(components, {"local_pubsub": True, "cameras": [{"id": "old-door"}]})
    target_arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:{target}"
    with Stubber(aws.greengrass()) as stubber:
        expect_current(stubber, {**current, "targetArn": target_arn}, target_arn)
        captured = captured_deployment(stubber, aws)
        config = write_config(tmp_path, json.dumps({"cameras": CAMERAS}))
        commands.run_deploy(context(aws, components, tmp_path, []), target, config, {}, None)
        stubber.assert_no_pending_responses()
    merge = json.loads(captured["components"][counter.name]["configurationUpdate"]["merge"])
    assert merge["cameras"] == CAMERAS and merge["local_pubsub"] is True
    assert merge["accessControl"][render.IPC_PUBSUB][f"{counter.name}:pubsub:1"]["resources"] == [
        f"people-counter/{thing_level}/{camera}{events}" for camera in ("entrance", "platform")
        for events in ("", "/events")]
    assert merge["accessControl"][render.IPC_MQTT_PROXY][f"{counter.name}:mqttproxy:1"]["resources"] == [
        "people-counter/+/+", "people-counter/+/+/events"]
