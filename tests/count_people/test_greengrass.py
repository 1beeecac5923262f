"""The counter as a Greengrass component, against the local IPC server: real SDK, socket, detector, broker."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from count_people.comms.backoff import Backoff
from count_people.errors import UserError
from count_people.greengrass import GreengrassComponent
from count_people.loop import CountingLoop
from count_people.observability.hub import Observability
from gg_ipc_local.secret_store import Secret, SecretStore
from gg_ipc_support import TOKEN, IpcServer, connect_client, write_recipe
from gluoncv_params import FAST_GLUONCV_MODEL
from support import REPO_ROOT, Subscriber, jpeg_bytes, replace_frame, wait_for

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")

CLASSES = ["person", "car", "dog", "chair", "bottle"]


def component_configuration(tmp_path: Path, params: Path) -> dict:
    """What a deployment would set: the same keys as the config file."""
    return {"source": str(tmp_path / "frame.jpg"), "model": FAST_GLUONCV_MODEL, "params": str(params),
            "input_size": 256, "threshold": 0.0, "classes": CLASSES, "stats_interval": 0,
            "topic": "people/{thing}/{camera}", "camera_id": "cam-1", "qos": 1}


class FrameFeeder:
    """Writes a new version of the frame file every ``interval`` seconds, like the grabber."""

    def __init__(self, path: Path, frame, interval: float = 0.25) -> None:
        self.path, self.frame, self.interval = path, frame, interval
        self.stop = threading.Event()
        replace_frame(path, jpeg_bytes(frame, 80))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        quality = 60
        while not self.stop.wait(self.interval):
            quality = 60 + (quality - 59) % 35
            replace_frame(self.path, jpeg_bytes(self.frame, quality))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def update_configuration(ipc_env: dict, values: dict) -> None:
    """Drive an update the way a deployment does (UpdateConfiguration on the component's config)."""
    client = connect_client(ipc_env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"], ipc_env["SVCUID"])
    try:
        client.update_configuration(key_path=[], value_to_merge=values, timestamp=datetime.datetime.now())
    finally:
        client.close()


def messages(records: list[dict]) -> list[dict]:
    return [json.loads(r["payload"]) for r in records]


def messages_since(records: list[dict], since: float) -> list[dict]:
    """Messages of frames processed entirely after ``since`` (epoch seconds)."""
    return [m for m in messages(records) if m["publish_time"] > since]


def test_configuration_updates_apply_live_and_survive_a_nucleus_restart(
        tmp_path, fast_params, frame_bgr, caplog, monkeypatch):
    configuration = {**component_configuration(tmp_path, fast_params), "thing_name": "thing-1"}
    ipc = IpcServer(tmp_path, configuration).start()
    for key, value in ipc.env.items():  # as the nucleus sets them for its components
        monkeypatch.setenv(key, value)
    feeder = FrameFeeder(tmp_path / "frame.jpg", frame_bgr)
    component = GreengrassComponent.from_environment({})
    component.backoff = Backoff(first=0.1, cap=0.5)
    stop = threading.Event()
    try:
        settings = component.initial_settings()
        assert settings.publish == "ipc", "ipc is the default inside Greengrass"
        counter = CountingLoop(settings)
        counter.publisher.backoff = Backoff(first=0.1, cap=0.5)
        runner = threading.Thread(target=component.run, args=(counter, stop), daemon=True)
        runner.start()
        wait_for(lambda: ipc.server.component_state == "RUNNING", 30, what="UpdateState RUNNING")
        first = wait_for(lambda: messages(ipc.records()), 60, what="first message")[0]
        assert min(box["score"] for box in first["boxes"]) < 0.9, "threshold 0 keeps weak detections"

        update_configuration(ipc.env, {"threshold": 1.0})
        wait_for(lambda: counter.settings.threshold == 1.0, 30, what="the threshold update applied")
        applied = time.time()  # frames processed under the old settings were all published before this
        later = wait_for(lambda: messages_since(ipc.records(), applied), 30, what="messages after the update")
        assert all(box["score"] >= 1.0 for m in later for box in m["boxes"]), "threshold 1 drops weak ones"

        update_configuration(ipc.env, {"threshold": 5})
        wait_for(lambda: "configuration update rejected" in caplog.text, 30, what="the invalid update rejected")
        assert "threshold" in caplog.text and counter.settings.threshold == 1.0
        rejected = time.time()
        wait_for(lambda: messages_since(ipc.records(), rejected), 30, what="messages after the rejected update")

        ipc.stop()  # the nucleus restarts: publishing and the configuration link both reconnect
        ipc.start(configuration={**configuration, "threshold": 0.0})
        wait_for(lambda: counter.settings.threshold == 0.0, 30, what="configuration re-read after the restart")
        restarted = time.time()
        resumed = wait_for(lambda: messages_since(ipc.records(), restarted), 30,
                           what="publishing resumed after the restart")
        assert min(box["score"] for box in resumed[0]["boxes"]) < 0.9
        assert runner.is_alive()
    finally:
        stop.set()
        feeder.close()
        ipc.close()
    runner.join(15)
    assert not runner.is_alive()


def start_process(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=handle, cwd=REPO_ROOT)


def test_component_runs_unmodified_with_only_the_printed_environment(tmp_path, fast_params, frame_bgr, mosquitto):
    """gg-ipc-local forwards to mosquitto; count-people gets nothing but what the server printed."""
    recipe = write_recipe(tmp_path, component_configuration(tmp_path, fast_params))
    socket_dir = Path(tempfile.mkdtemp(prefix="ggipc-"))  # Unix socket paths are limited to 108 bytes
    subscriber = Subscriber(mosquitto.port, "people/thing-1/#")
    server = start_process([sys.executable, "-m", "gg_ipc_local", "--recipe", str(recipe), "--thing-name", "thing-1",
                            "--interpolate-component-configuration",  # write_recipe's {iot:thingName}
                            "--socket", str(socket_dir / "ipc.socket"), "--mqtt", mosquitto.url],
                           dict(os.environ), tmp_path / "server.log")
    feeder = FrameFeeder(tmp_path / "frame.jpg", frame_bgr)
    counter = None
    try:
        exports = {}
        for line in server.stdout:
            line = line.decode().strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                exports[key] = value
            if len(exports) == 3:
                break
        assert set(exports) == {"AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", "SVCUID",
                                "AWS_IOT_THING_NAME"}
        assert exports["SVCUID"] != TOKEN and len(exports["SVCUID"]) >= 24, "a random token by default"
        env = {**exports, "PATH": os.environ["PATH"]}
        counter = start_process([sys.executable, "-m", "count_people"], env, tmp_path / "counter.log")
        wait_for(lambda: len(subscriber.messages) >= 3 or counter.poll() is not None, 90,
                 what="counts at the MQTT subscriber")
        assert counter.poll() is None, (tmp_path / "counter.log").read_text()[-2000:]
        message = subscriber.messages[-1]
        assert message["camera_id"] == "cam-1" and message["thing_name"] == "thing-1"
        assert message["counts"].keys() == set(CLASSES) and message["boxes"]
        logs = (tmp_path / "server.log").read_text() + (tmp_path / "counter.log").read_text()
        assert exports["SVCUID"] not in logs, "the token never reaches logs"
    finally:
        feeder.close()
        subscriber.close()
        for process in (counter, server):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(15)
        shutil.rmtree(socket_dir, ignore_errors=True)
    assert counter.returncode == 0, "SIGTERM ends the component cleanly"


def test_a_deployment_with_an_invalid_value_is_refused_by_validation(tmp_path, fast_params, frame_bgr, monkeypatch):
    """The counter answers the nucleus's validation request, so the deployment fails, not the component."""
    configuration = {**component_configuration(tmp_path, fast_params), "thing_name": "thing-1"}
    ipc = IpcServer(tmp_path, configuration).start()
    for key, value in ipc.env.items():
        monkeypatch.setenv(key, value)
    feeder = FrameFeeder(tmp_path / "frame.jpg", frame_bgr)
    component = GreengrassComponent.from_environment({})
    stop = threading.Event()
    try:
        counter = CountingLoop(component.initial_settings())
        runner = threading.Thread(target=component.run, args=(counter, stop), daemon=True)
        runner.start()
        wait_for(lambda: ipc.server.component_state == "RUNNING", 30, what="UpdateState RUNNING")
        refused = ipc.server.deploy({"threshold": 5}, timeout=10)
        assert not refused.succeeded
        assert "bad value for threshold: 5.0 is outside 0.0..1.0" in refused.message, refused.message
        assert ipc.server.configuration.data["threshold"] == 0.0, "nothing merged"
        deep = ipc.server.deploy({"lines": "[" * 5000 + "]" * 5000}, timeout=10)  # issue 23: was no report at all
        assert not deep.succeeded and "bad value for lines: nested deeper than 12 levels" in deep.message, deep.message
        accepted = ipc.server.deploy({"threshold": 0.7}, timeout=10)
        assert accepted.succeeded, accepted.message
        wait_for(lambda: counter.settings.threshold == 0.7, 30, what="the accepted deployment applied")
    finally:
        stop.set()
        feeder.close()
        ipc.close()
    runner.join(15)


INFLUX_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:influx-token-AbC123"


def test_influx_token_comes_from_the_secret_manager_never_from_configuration(tmp_path, fast_params, monkeypatch,
                                                                             caplog):
    (tmp_path / "secrets.json").write_text(json.dumps({INFLUX_ARN: {"SecretString": "t0ken-S3cr3t"}}))
    grant = {"aws.greengrass.SecretManager": {"p": {"operations": ["aws.greengrass#GetSecretValue"],
                                                    "resources": [INFLUX_ARN]}}}
    configuration = {**component_configuration(tmp_path, fast_params), "influx_token_secret_arn": INFLUX_ARN}
    ipc = IpcServer(tmp_path, secrets=SecretStore.load(tmp_path / "secrets.json"))
    ipc.start(configuration={**configuration, "accessControl": grant})
    for key, value in ipc.env.items():
        monkeypatch.setenv(key, value)
    try:
        component = GreengrassComponent.from_environment({})
        settings = component.initial_settings()
        assert settings.influx_token == "t0ken-S3cr3t" and "t0ken-S3cr3t" not in repr(settings)
        assert "t0ken-S3cr3t" not in json.dumps(ipc.server.configuration.data)
        component.close()
        ipc.stop()
        ipc.start(configuration={**configuration, "accessControl": {}})  # no grant: one clear line, no hang
        component = GreengrassComponent.from_environment({})
        with pytest.raises(UserError, match=r"influx_token_secret_arn: cannot read .*UnauthorizedError.*"
                                            r"nucleus lite, which has no secret manager"):
            component.initial_settings()
        component.close()
    finally:
        ipc.close()
    assert "t0ken-S3cr3t" not in caplog.text


NEW_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:influx-token-2-XyZ789"


def secret_grant(arn: str) -> dict:
    return {"aws.greengrass.SecretManager": {"p": {"operations": ["aws.greengrass#GetSecretValue"],
                                                   "resources": [arn]}}}


class RecordingCounter:
    """Stands in for the counting loop: records the Settings each configuration change gives it."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def reconfigure(self, settings) -> set[str]:
        changed, self.settings = self.settings.changed_keys(settings), settings
        return changed


def test_a_deployment_adding_a_secret_is_validated_by_shape_and_read_after_the_merge(tmp_path, monkeypatch, caplog):
    """The Java nucleus asks for validation before it merges (DeploymentConfigMerger.java:151, merge at :229), so a
    GetSecretValue on the proposed ARN meets the old accessControl and is refused: it must not be made then."""
    (tmp_path / "secrets.json").write_text(json.dumps({INFLUX_ARN: {"SecretString": "old-t0ken"},
                                                       NEW_ARN: {"SecretString": "new-t0ken"}}))
    secrets = SecretStore.load(tmp_path / "secrets.json")
    configuration = {"source": str(tmp_path / "frame.jpg"), "influx_token_secret_arn": INFLUX_ARN}
    ipc = IpcServer(tmp_path, secrets=secrets)
    ipc.start(configuration={**configuration, "accessControl": secret_grant(INFLUX_ARN)})
    for key, value in ipc.env.items():
        monkeypatch.setenv(key, value)
    component = GreengrassComponent.from_environment({})
    component.secret_backoff = Backoff(first=0.2, cap=0.5)
    try:
        counter = RecordingCounter(component.initial_settings())
        assert counter.settings.influx_token == "old-t0ken"
        component.follow(counter)
        wait_for(lambda: ipc.server.component_state == "RUNNING", 30, what="UpdateState RUNNING")

        malformed = ipc.server.deploy({"influx_token_secret_arn": "influx-token"}, timeout=10)
        assert not malformed.succeeded and "is not a Secrets Manager secret ARN" in malformed.message

        rotated = ipc.server.deploy({"influx_token_secret_arn": NEW_ARN, "accessControl": secret_grant(NEW_ARN)},
                                    timeout=10)
        assert rotated.succeeded, rotated.message
        wait_for(lambda: counter.settings.influx_token == "new-t0ken", 30, what="the new secret read after the merge")

        missing = NEW_ARN.replace("XyZ789", "Later9")  # granted, not synced by the secret manager yet
        assert ipc.server.deploy({"influx_token_secret_arn": missing, "accessControl": secret_grant(missing)},
                                 timeout=10).succeeded
        wait_for(component.notices, 30, what="the unreadable secret noticed")
        assert counter.settings.influx_token == "new-t0ken", "the counter keeps the token it had"
        assert missing in component.notices()[0] and "cloudSecrets" in component.notices()[0]
        hub = Observability(counter.settings, component.notices)  # the wiring of cli.run
        status, _, body = hub.routes()["/healthz"]({})
        assert json.loads(body)["notices"] == component.notices() and status == 200, "shown; a restart fixes nothing"
        hub.close()
        secrets.secrets[missing] = Secret(missing, "late-t0ken", "v2")  # synced now: no configuration event follows
        wait_for(lambda: counter.settings.influx_token == "late-t0ken", 30, what="the secret read on a retry")
        assert component.notices() == []
        assert caplog.text.count("ResourceNotFoundError") == 1, "the failure is logged once, not per retry"
    finally:
        component.close()
        ipc.close()
    assert "t0ken" not in caplog.text


def test_a_topic_over_the_iot_core_limits_is_a_configuration_error(tmp_path, monkeypatch):
    """The Java nucleus refuses each publish on it (IotCoreTopicValidator.java:129-138): refuse the configuration
    instead, rendered with the thing name and every camera's id (up to 128 characters each)."""
    ipc = IpcServer(tmp_path).start(configuration={"source": str(tmp_path / "frame.jpg"), "thing_name": "thing-1"})
    for key, value in ipc.env.items():
        monkeypatch.setenv(key, value)
    component = GreengrassComponent.from_environment({})
    try:
        counter = RecordingCounter(component.initial_settings())
        component.follow(counter)
        wait_for(lambda: ipc.server.component_state == "RUNNING", 30, what="UpdateState RUNNING")
        deep = ipc.server.deploy({"topic": "a/b/c/d/e/f/g/{thing}/{camera}"}, timeout=10)
        assert not deep.succeeded
        assert "topic: 'a/b/c/d/e/f/g/{thing}/{camera}' gives the topic 'a/b/c/d/e/f/g/thing-1/camera-1' for camera " \
               "camera-1, but it has 8 '/' and AWS IoT Core allows at most 7" in deep.message, deep.message
        long_id = ipc.server.deploy({"cameras": [{"id": "c" * 128}, {"id": "d" * 128, "topic": "x/{camera}"}],
                                     "thing_name": "t" * 128}, timeout=10)
        assert not long_id.succeeded and "cameras[0]" not in long_id.message
        assert "topic: 'people-counter/{thing}/{camera}' gives the topic" in long_id.message
        assert "it is 272 bytes long and AWS IoT Core allows at most 256" in long_id.message
        assert ipc.server.deploy({"cameras": [{"id": "c" * 128, "topic": "people/{camera}"}],
                                  "thing_name": "t" * 128}, timeout=10).succeeded, "the camera's own topic fits"
    finally:
        component.close()
        ipc.close()
