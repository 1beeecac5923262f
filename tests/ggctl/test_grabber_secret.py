"""A camera password from Secrets Manager, end to end: `ggctl build --secrets` renders the grabber recipe, `ggctl
deploy` sends only the ARN (Stubber captures the request), gg-ipc-local serves the secret with the grant ggctl
merged, and the grabber started from the rendered Run step gets frames from an emulator that requires the password.
The password appears in none of: the recipe, the deployment document, any process's argv, the logs, the status
file, the counter's /metrics and /healthz, and (Docker test) `docker inspect` of the grabber container.
"""

from __future__ import annotations

import json
import os
import re
import secrets as random_secrets
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from botocore.stub import Stubber
from ggctl import build, commands, render
from ggctl.aws import Aws
from ggctl.cli import main
from ggctl.project import GRABBER, load_components
from ggctl_support import ACCOUNT, REGION, ROOT, fake_grabber
from grabber_support import BIN, USER, Emulator, count_frames, frame_id, require_gstreamer
from support import body_model_args, free_port, wait_for

pytest.importorskip("awsiot.greengrasscoreipc", reason="the greengrass extra is not installed")

from gg_ipc_local.recipe import Recipe
from gg_ipc_local.secret_store import Secret, SecretStore
from gg_ipc_local.server import LocalIpcServer

ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:cam-01/rtsp-AbCdEf"
#: This test's own password (':' and '/' to need percent-encoding): other tests' emulators use grabber_support's.
PASSWORD = f"Se:cr/et-{random_secrets.token_hex(6)}"
SECRET = json.dumps({"username": USER, "password": PASSWORD})
TOKEN = "grabber-svcuid"
THING = "cam-box-01"
#: Every form the password could take in text.
FORMS = (PASSWORD, quote(PASSWORD, safe=""))


def absent(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"the camera password ({form!r}) is in {where}"


def deploy(aws: Aws, components: dict, out: Path, config: Path) -> dict:
    """`ggctl deploy` to a thing without a deployment; returns the CreateDeployment request it sent."""
    thing_arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{THING}"
    public = f"arn:aws:greengrass:{REGION}:aws:components:{render.SECRET_MANAGER}"
    captured: dict = {}
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_response("list_deployments", {"deployments": []},
                             {"targetArn": thing_arn, "historyFilter": "ALL"})
        stubber.add_response("list_component_versions", {"componentVersions": [
            {"componentName": render.SECRET_MANAGER, "componentVersion": "2.2.0", "arn": f"{public}:versions:2.2.0"}]},
            {"arn": public})
        stubber.add_response("create_deployment", {"deploymentId": "d-1"}, None)
        original = aws.greengrass().create_deployment
        aws.greengrass().create_deployment = lambda **r: captured.update(r) or original(**r)  # type: ignore
        commands.run_deploy(commands.Context(ROOT, components, aws, out, False, lambda _line: None),
                            f"thing/{THING}", config, {}, None)
        stubber.assert_no_pending_responses()
    return captured


def resolve(text: str, configuration: dict) -> str:
    """A lifecycle value as the nucleus interpolates it: {configuration:/key} replaced by the value."""
    return re.sub(r"\{configuration:/(\w+)\}", lambda m: str(configuration[m.group(1)]), text)


def deployed(aws: Aws, components: dict, tmp_path: Path, camera_url: str, built_secrets: bool = True) -> tuple:
    """(rendered recipe text, deployment request, the grabber's configuration on the device)."""
    out = tmp_path / "out"
    grabber = components[GRABBER.key]
    artifact = fake_grabber(out, grabber, b"stand-in image tarball")
    build.record(out, GRABBER.key, build.Built([artifact], secrets=built_secrets))
    recipe = build.render_built(ROOT, grabber, components, "bucket", build.built_artifacts(out, [grabber])[GRABBER.key])
    config = tmp_path / "deploy.yaml"
    config.write_text(yaml.safe_dump({"gst-grabber": {"rtsp_secret_arn": ARN, "rtsp_url": camera_url,
                                                      "max_fps": 5}}))
    request = deploy(aws, components, out, config)
    merge = json.loads(request["components"][grabber.name]["configurationUpdate"]["merge"])
    configuration = {**recipe["ComponentConfiguration"]["DefaultConfiguration"], **merge}
    return render.dump(recipe), request, recipe, configuration


@pytest.fixture
def ipc(tmp_path: Path) -> Iterator:
    """Starts gg-ipc-local for the grabber with its deployed configuration and the camera secret."""
    servers: list[LocalIpcServer] = []

    def start(component: str, configuration: dict) -> dict[str, str]:
        recipe_path = tmp_path / "device-recipe.json"
        recipe_path.write_text(json.dumps({"ComponentName": component,
                                           "ComponentConfiguration": {"DefaultConfiguration": configuration}}))
        socket_path = str(Path(tempfile.mkdtemp(prefix="ggipc-")) / "ipc.socket")
        servers.append(LocalIpcServer(socket_path, TOKEN, Recipe.load(recipe_path, thing_name=THING),
                                      secrets=SecretStore({ARN: Secret(ARN, SECRET, "v1")})).start())
        os.chmod(socket_path, 0o666)  # the container's user (the component user on a device) connects too
        return {"AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": socket_path, "SVCUID": TOKEN,
                "AWS_IOT_THING_NAME": THING}

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def auth_emulator() -> Iterator[Emulator]:
    require_gstreamer()
    emulator = Emulator(auth=True)
    emulator.env["RTSP_EMULATOR_PASSWORD"] = PASSWORD
    emulator.start()
    yield emulator
    emulator.stop()


def all_argv() -> str:
    """Every process's command line, as `ps -eo args` shows them."""
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return "\n".join(lines)


def counter_views(frame: Path, workdir: Path) -> str:
    """The counter on the grabber's frame file: its /metrics and /healthz once it has counted (and its log)."""
    port = free_port()
    log = workdir / "counter.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "components")}
    with log.open("wb") as handle:
        counter = subprocess.Popen([sys.executable, "-m", "count_people", "--source", str(frame), *body_model_args(),
                                    "--http-port", str(port), "--http-host", "127.0.0.1", "--max-fps", "5"],
                                   stdout=subprocess.DEVNULL, stderr=handle, env=env, cwd=workdir)
    try:
        def scrape() -> str:
            assert counter.poll() is None, log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    body = response.read().decode()
            except OSError:
                return ""
            running = re.search(r'grabber_state\{[^}]*state="running"[^}]*\} 1', body)
            return body if running and re.search(r"frames_processed_total\{[^}]*\} [1-9]", body) else ""

        metrics = wait_for(scrape, 90, 0.5, "counter metrics with the grabber's status")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                health = response.read().decode()
        except urllib.error.HTTPError as exc:  # 503 while not healthy still has a body
            health = exc.read().decode()
    finally:
        counter.send_signal(signal.SIGTERM)
        counter.wait(20)
    return metrics + health + log.read_text()


def test_grabber_reads_the_camera_password_from_the_secret(aws: Aws, components: dict, tmp_path: Path, ipc,
                                                           auth_emulator: Emulator) -> None:
    camera_url = f"rtsp://127.0.0.1:{auth_emulator.port}/cam1"  # the URL without credentials
    recipe_text, request, recipe, configuration = deployed(aws, components, tmp_path, camera_url)
    absent(recipe_text, "the rendered recipe")
    absent(json.dumps(request), "the deployment document")
    assert ARN in json.dumps(request)
    grabber = components[GRABBER.key]
    (manifest,) = recipe["Manifests"]
    run = manifest["Lifecycle"]["Run"]
    assert run["Setenv"]["GRABBER_RTSP_SECRET_ARN"] == "{configuration:/rtsp_secret_arn}"

    # The Run step's environment as the nucleus sets it, plus the IPC variables it gives every component.
    frames = tmp_path / "frames"
    env = {**{k: resolve(v, configuration) for k, v in run["Setenv"].items()}, **ipc(grabber.name, configuration),
           "GRABBER_OUTPUT_DIR": str(frames), "GRABBER_LOG_LEVEL": "debug", "PATH": os.environ["PATH"]}
    assert env["GRABBER_RTSP_URL"] == camera_url and env["GRABBER_RTSP_SECRET_ARN"] == ARN
    process = subprocess.Popen([str(BIN / "gst-grabber")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        frame = frames / "frame.jpg"
        wait_for(lambda: frame_id(frame) or process.poll() is not None, 30, 0.05, "a frame")
        assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
        assert count_frames(frame, 2.0) >= 5
        argv = all_argv()
        views = counter_views(frame, tmp_path)
        absent(views, "the counter's /metrics, /healthz or log")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    status = (frames / "frame.status.json").read_text()
    absent(output, "the grabber's log")
    absent(status, "the status file")
    assert "frames arriving" in output
    assert json.loads(status)["camera"] == f"rtsp://{USER}:***@{camera_url.split('://')[1]}"
    absent(argv, "a process's argv (ps)")


@pytest.mark.docker
def test_the_container_gets_the_ipc_socket_and_no_password(docker_engine, monkeypatch, aws: Aws, tmp_path: Path,
                                                           ipc, auth_emulator: Emulator) -> None:
    """The image built by `ggctl build --secrets`, started by the rendered Run script: `docker inspect` shows the
    ARN, the socket mount and the token, never the password; frames arrive through the password-protected mount."""
    for key, value in docker_engine.env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    assert main(["--root", str(ROOT), "--out", str(out), "build", GRABBER.key, "--secrets", "--network", "host"]) == 0
    components = load_components(ROOT)
    grabber = components[GRABBER.key]
    recipe = yaml.safe_load((out / "recipes" / f"{grabber.name}-{grabber.version}.yaml").read_text())
    camera_url = f"rtsp://127.0.0.1:{auth_emulator.port}/cam1"
    config = tmp_path / "deploy.yaml"
    config.write_text(yaml.safe_dump({"gst-grabber": {"rtsp_secret_arn": ARN, "rtsp_url": camera_url}}))
    request = deploy(aws, components, out, config)
    merge = json.loads(request["components"][grabber.name]["configurationUpdate"]["merge"])
    frames = tmp_path / "frames"
    frames.mkdir()
    configuration = {**recipe["ComponentConfiguration"]["DefaultConfiguration"], **merge, "frame_dir": str(frames),
                     "docker_network": "host", "stop_timeout_s": 2}
    (manifest,) = recipe["Manifests"]
    lifecycle = manifest["Lifecycle"]
    env = {**docker_engine.env, **{k: resolve(v, configuration) for k, v in lifecycle["Run"]["Setenv"].items()},
           **ipc(grabber.name, configuration)}
    run = subprocess.Popen(["sh", "-c", resolve(lifecycle["Run"]["Script"], configuration)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        frame = frames / "frame.jpg"
        wait_for(lambda: frame_id(frame) or run.poll() is not None, 60, 0.1, "a frame from the container")
        assert run.poll() is None, run.stdout.read()  # type: ignore[union-attr]
        assert count_frames(frame, 2.0) >= 5
        inspect = docker_engine.run("inspect", grabber.name).stdout
        argv = all_argv()  # the container's processes are the host's too
    finally:
        subprocess.run(["sh", "-c", resolve(lifecycle["Shutdown"]["Script"], configuration)], env=docker_engine.env,
                       capture_output=True, timeout=60)
        output = run.communicate(timeout=30)[0]
    absent(inspect, "docker inspect")
    details = json.loads(inspect)[0]
    socket_path = env["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"]
    assert f"GRABBER_RTSP_SECRET_ARN={ARN}" in details["Config"]["Env"]
    assert {"Type": "bind", "Source": socket_path, "Target": socket_path} in [
        {k: m[k] for k in ("Type", "Source", "Target")} for m in details["HostConfig"]["Mounts"]]
    absent(output, "the container's log")
    absent((frames / "frame.status.json").read_text(), "the status file")
    assert "frames arriving" in output
    absent(argv, "a process's argv (ps)")


def docker_run_argv(recipe: dict, configuration: dict) -> list[str]:
    """The `docker run` arguments the rendered Run script would use (printed instead of run), one per item."""
    (manifest,) = recipe["Manifests"]
    run = manifest["Lifecycle"]["Run"]
    configuration = {**recipe["ComponentConfiguration"]["DefaultConfiguration"], **configuration}
    script = resolve(run["Script"], configuration).replace("exec docker run", 'printf "%s\\n" docker run')
    env = {**{k: resolve(v, configuration) for k, v in run["Setenv"].items()}, "PATH": os.environ["PATH"],
           "SVCUID": TOKEN, "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": "/gg/ipc.socket",
           "DOCKER_HOST": "unix:///nonexistent"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    return result.stdout.splitlines()


def test_the_container_gets_ipc_only_with_an_arn_and_the_file_only_when_set(components: dict,
                                                                            tmp_path: Path) -> None:
    """Plain rtsp_url (or a recipe built without --secrets): neither socket nor token reaches the container."""
    out = tmp_path / "out"
    grabber = components[GRABBER.key]
    artifact = fake_grabber(out, grabber, b"stand-in image tarball")
    recipes = {}
    for built_secrets in (False, True):
        build.record(out, GRABBER.key, build.Built([artifact], secrets=built_secrets))
        recipes[built_secrets] = build.render_built(ROOT, grabber, components, "bucket",
                                                    build.built_artifacts(out, [grabber])[GRABBER.key])
    assert "GRABBER_RTSP_SECRET_ARN" not in recipes[False]["Manifests"][0]["Lifecycle"]["Run"]["Setenv"]
    for recipe in recipes.values():
        argv = docker_run_argv(recipe, {"rtsp_url": "rtsp://cam/s"})
        assert argv[:2] == ["docker", "run"] and argv[-1] == grabber.image
        assert "SVCUID" not in argv and not any("/gg/ipc.socket" in arg or "/run/secrets" in arg for arg in argv)
    argv = docker_run_argv(recipes[True], {"rtsp_url": "rtsp://cam/s", "rtsp_secret_arn": ARN})
    assert {"SVCUID", "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", "GRABBER_RTSP_SECRET_ARN"} <= set(argv)
    assert "type=bind,source=/gg/ipc.socket,target=/gg/ipc.socket" in argv
    argv = docker_run_argv(recipes[False], {"rtsp_url": "rtsp://cam/s", "rtsp_secret_file": "/etc/cam/one.json"})
    assert "GRABBER_RTSP_SECRET_FILE=/run/secrets/camera" in argv and "SVCUID" not in argv
    assert "type=bind,source=/etc/cam/one.json,target=/run/secrets/camera,readonly" in argv
