"""Camera credentials from a Secrets Manager secret (gst_grabber/secrets.py): both secret formats, every refusal
as one line without the password, and GetSecretValue against the real local IPC server (gg-ipc-local)."""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from grabber_support import BIN, PASSWORD, PASSWORD_URL, USER, frame_id
from gst_grabber.secrets import SECRET_ARN_ENV, SECRET_FILE_ENV, SecretError, url_with_secret
from support import wait_for

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cam-01/rtsp-AbCdEf"
CAMERA = "rtsp://127.0.0.1:8554/cam1"
CREDENTIALS = json.dumps({"username": USER, "password": PASSWORD})


def test_json_credentials_go_into_the_camera_url_percent_encoded() -> None:
    assert url_with_secret(CAMERA, CREDENTIALS, ARN) == f"rtsp://{USER}:{PASSWORD_URL}@127.0.0.1:8554/cam1"


def test_a_whole_url_in_the_secret_is_the_camera_url() -> None:
    url = f"rtsp://{USER}:{PASSWORD_URL}@10.0.0.5:554/stream1"
    assert url_with_secret("", f"  {url}\n", ARN) == url


@pytest.mark.parametrize(("url", "secret", "expected"), [
    (CAMERA, json.dumps({"username": USER}), "needs string fields username and password"),
    (CAMERA, "{" + PASSWORD, "needs string fields username and password"),
    (CAMERA, json.dumps(["not", PASSWORD]), "must be a JSON object"),
    (CAMERA, PASSWORD, "must be a JSON object"),
    ("", CREDENTIALS, "no camera URL is set"),
    (f"rtsp://{USER}:other@127.0.0.1/cam1", CREDENTIALS, "remove user and password from rtsp_url"),
    (CAMERA, f"rtsp://{USER}:{PASSWORD_URL}@10.0.0.5/s", "leave rtsp_url empty"),
    ("", f"http://{USER}:{PASSWORD_URL}@10.0.0.5/s", "the URL in it is invalid"),
])
def test_refusals_are_one_line_without_the_password(url: str, secret: str, expected: str) -> None:
    with pytest.raises(SecretError) as caught:
        url_with_secret(url, secret, ARN)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and PASSWORD not in message and PASSWORD_URL not in message and "other" not in message


def run_grabber(env: dict[str, str], timeout: float = 60) -> tuple[int, str, float]:
    """gst-grabber with only ``env`` (plus PATH): (exit code, output, seconds)."""
    start = time.monotonic()
    result = subprocess.run([str(BIN / "gst-grabber")], env={"PATH": str(BIN) + ":/usr/bin:/bin", **env},
                            capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - start


def test_without_greengrass_ipc_the_grabber_says_what_is_missing(tmp_path: Path) -> None:
    code, output, _ = run_grabber({SECRET_ARN_ENV: ARN, "GRABBER_RTSP_URL": CAMERA,
                                   "GRABBER_OUTPUT_DIR": str(tmp_path)})
    assert code != 0
    (line,) = output.strip().splitlines()
    assert f"{SECRET_ARN_ENV} needs Greengrass IPC" in line and "SVCUID" in line


def test_a_socket_that_never_answers_ends_the_start_instead_of_hanging(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="silent-"))
    path = str(folder / "ipc.socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accepts and reads nothing: a nucleus that hangs
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        code, output, seconds = run_grabber({
            SECRET_ARN_ENV: ARN, "GRABBER_RTSP_URL": CAMERA, "GRABBER_OUTPUT_DIR": str(tmp_path),
            "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": path, "SVCUID": "token"})
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()
    assert code != 0 and seconds < 40
    (line,) = output.strip().splitlines()
    assert f"cannot connect to Greengrass IPC at {path}" in line
    assert accepted, "the grabber never connected"


@pytest.fixture
def ipc_server(tmp_path: Path):
    """gg-ipc-local serving one secret, with a grant for it (as ggctl deploy merges) or none."""
    pytest.importorskip("awsiot.greengrasscoreipc", reason="the greengrass extra is not installed")
    from gg_ipc_local.recipe import SECRET_MANAGER, Recipe
    from gg_ipc_local.secret_store import Secret, SecretStore
    from gg_ipc_local.server import LocalIpcServer

    servers = []

    def start(granted: list[str], secret: str = CREDENTIALS) -> dict[str, str]:
        folder = Path(tempfile.mkdtemp(prefix="ggipc-"))
        recipe_path = tmp_path / f"recipe{len(servers)}.json"
        recipe_path.write_text(json.dumps({"ComponentName": "com.example.gst-grabber", "ComponentConfiguration": {
            "DefaultConfiguration": {"accessControl": {SECRET_MANAGER: {"grabber:secrets:1": {
                "operations": ["aws.greengrass#GetSecretValue"], "resources": granted}}} if granted else {}}}}))
        server = LocalIpcServer(str(folder / "ipc.socket"), "grabber-token", Recipe.load(recipe_path),
                                secrets=SecretStore({ARN: Secret(ARN, secret, "v1")})).start()
        servers.append(server)
        return {"AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": str(folder / "ipc.socket"),
                "SVCUID": "grabber-token"}

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize(("granted", "secret", "expected"), [
    ([], CREDENTIALS, "UnauthorizedError"),
    ([ARN.replace("cam-01", "cam-02")], CREDENTIALS, "UnauthorizedError"),
    ([ARN], json.dumps({"user": USER, "pass": PASSWORD}), "needs string fields username and password"),
])
def test_refused_or_unusable_secrets_stop_with_one_line(ipc_server, tmp_path: Path, granted: list[str],
                                                         secret: str, expected: str) -> None:
    env = ipc_server(granted, secret)
    frames = tmp_path / "frames"
    code, output, seconds = run_grabber({SECRET_ARN_ENV: ARN, "GRABBER_RTSP_URL": CAMERA,
                                         "GRABBER_OUTPUT_DIR": str(frames), **env})
    assert code != 0 and seconds < 20
    (line,) = output.strip().splitlines()
    assert expected in line and ARN in line and PASSWORD not in line
    if expected == "UnauthorizedError":
        assert "nucleus lite has no GetSecretValue" in line  # names the alternative
    assert not frames.exists()  # no camera was started: no frame, no status file


def test_a_secret_file_readable_by_others_or_beside_an_arn_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "camera.json"
    secret.write_text(CREDENTIALS)
    secret.chmod(0o644)
    frames = tmp_path / "frames"
    code, output, _ = run_grabber({SECRET_FILE_ENV: str(secret), "GRABBER_RTSP_URL": CAMERA,
                                   "GRABBER_OUTPUT_DIR": str(frames)})
    (line,) = output.strip().splitlines()
    assert code != 0 and f"chmod 400 {secret}" in line and "-rw-r--r--" in line
    secret.chmod(0o400)
    code, output, _ = run_grabber({SECRET_FILE_ENV: str(secret), SECRET_ARN_ENV: ARN, "GRABBER_RTSP_URL": CAMERA,
                                   "GRABBER_OUTPUT_DIR": str(frames)})
    (line,) = output.strip().splitlines()
    assert code != 0 and "use one" in line
    assert not frames.exists() and PASSWORD not in output


def test_frames_with_the_credentials_from_a_0400_file(emulator, grabber_factory, tmp_path: Path) -> None:
    """Nucleus lite's way: the password in a file on the device, never in configuration or the environment."""
    secret = tmp_path / "camera.json"
    secret.write_text(CREDENTIALS)
    secret.chmod(0o400)
    grabber = grabber_factory(f"rtsp://127.0.0.1:{emulator.port}/cam1", rtsp_secret_file=secret)
    wait_for(lambda: "frames arriving" in grabber.output.text or grabber.proc.poll() is not None, 15, 0.05,
             "frames")
    assert grabber.proc.poll() is None and frame_id(grabber.frame), grabber.output.text
    grabber.stop()
    text = grabber.output.text + grabber.status_file.read_text()
    assert "frames arriving" in text and f"{USER}:***@" in text
    assert PASSWORD not in text and PASSWORD_URL not in text
