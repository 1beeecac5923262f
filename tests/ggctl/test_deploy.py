"""`ggctl deploy` and `ggctl status`: request shapes through Stubber, configuration merges, dry run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.stub import Stubber
from ggctl import commands, render
from ggctl.aws import Aws
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


def test_deployment_document_with_configuration_merges(aws: Aws, components: dict, tmp_path: Path) -> None:
    config = write_config(tmp_path, f"""
gst-grabber: {{rtsp_url: "{SECRET_URL}", max_fps: 2}}
com.example.count_people: {{camera_id: door, topic: "shop/{{thing}}/{{camera}}/people", threshold: 0.6}}
""")
    grabber, counter = components[GRABBER.key], components[COUNTER.key]
    counter_merge = {
        "camera_id": "door", "topic": "shop/{thing}/{camera}/people", "threshold": 0.6, "local_pubsub": False,
        "accessControl": {render.IPC_MQTT_PROXY: {f"{counter.name}:mqttproxy:1": {
            "policyDescription": "Publish counts to the configured IoT Core topic only.",
            "operations": ["aws.greengrass#PublishToIoTCore"],
            "resources": ["shop/{iot:thingName}/door/people"]}}},
    }
    expected = {
        "targetArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/shop-cameras",
        "deploymentName": "people-counter-thinggroup-shop-cameras",
        "components": {
            grabber.name: {"componentVersion": "1.0.0", "configurationUpdate": {
                "merge": json.dumps({"max_fps": 2, "rtsp_url": SECRET_URL}, sort_keys=True)}},
            counter.name: {"componentVersion": "1.0.0", "configurationUpdate": {
                "merge": json.dumps(counter_merge, sort_keys=True), "reset": ["/accessControl"]}},
        },
        "deploymentPolicies": {
            "failureHandlingPolicy": "ROLLBACK",
            "componentUpdatePolicy": {"timeoutInSeconds": 60, "action": "NOTIFY_COMPONENTS"},
            "configurationValidationPolicy": {"timeoutInSeconds": 60},
        },
    }
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_response("create_deployment", {"deploymentId": DEPLOYMENT_ID}, expected)
        commands.run_deploy(context(aws, components, tmp_path, lines), "thinggroup/shop-cameras", config, {}, None)
        stubber.assert_no_pending_responses()
    assert lines == [DEPLOYMENT_ID]

    # status defaults to the deployment just made.
    status_lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_response("get_deployment", {
            "deploymentId": DEPLOYMENT_ID, "deploymentName": "people-counter-thinggroup-shop-cameras",
            "targetArn": expected["targetArn"], "deploymentStatus": "ACTIVE",
            "components": {grabber.name: {"componentVersion": "1.0.0"}, counter.name: {"componentVersion": "1.0.0"}},
        }, {"deploymentId": DEPLOYMENT_ID})
        commands.run_status(context(aws, components, tmp_path, status_lines), None, None)
        stubber.assert_no_pending_responses()
    assert status_lines[0].endswith("thinggroup/shop-cameras: ACTIVE")
    assert f"  {counter.name} 1.0.0" in status_lines and f"  {grabber.name} 1.0.0" in status_lines


def test_dry_run_prints_the_request_with_the_password_hidden(aws: Aws, components: dict, tmp_path: Path) -> None:
    config = write_config(tmp_path, f"gst-grabber: {{rtsp_url: '{SECRET_URL}'}}\n")
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:  # no response queued: any Greengrass call would fail the test
        commands.run_deploy(context(aws, components, tmp_path, lines, dry_run=True), "thing/cam-01", config,
                            {"count_people": "1.2.3"}, "lobby")
    assert lines[0] == "would create this deployment (camera passwords hidden):"
    printed = json.loads(lines[1])
    assert printed["targetArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/cam-01"
    assert printed["deploymentName"] == "lobby"
    assert printed["components"][components[COUNTER.key].name]["componentVersion"] == "1.2.3"
    grabber_merge = json.loads(printed["components"][components[GRABBER.key].name]["configurationUpdate"]["merge"])
    assert grabber_merge == {"rtsp_url": "rtsp://admin:***@10.0.0.5:554/stream1"}
    assert "s3cret-pass" not in "\n".join(lines)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("text", "message"), [
    ("count_people: {thresold: 0.5}", "unknown or ggctl-managed key thresold"),
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
            "lifecycleState": "BROKEN", "lifecycleStateDetails": "exit 2"}]}, {"coreDeviceThingName": "cam-01"})
        commands.run_status(context(aws, components, tmp_path, lines), None, "thing/cam-01")
        stubber.assert_no_pending_responses()
    assert lines == ["core device cam-01:", f"  deployment {DEPLOYMENT_ID} (lobby): FAILED - Install timed out",
                     f"  {components[COUNTER.key].name} 1.0.0: BROKEN - exit 2"]
