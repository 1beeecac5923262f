"""The grabber image: built offline from docker/gst_grabber/Dockerfile, run as non-root, frames from the emulator."""

from __future__ import annotations

import os
import time

import pytest
from ggctl import host_ca
from ggctl.project import GRABBER
from grabber_support import PASSWORD, PASSWORD_URL, count_frames, frame_id, require_gstreamer
from support import REPO_ROOT, wait_for

pytestmark = pytest.mark.docker

IMAGE = "edge-people-counter/gst-grabber:test"
UID = 4321  # any non-root uid: the image must not depend on its own user's id


def test_image_runs_as_non_root_and_writes_frames(capsys, docker_engine, emulator, tmp_path):
    require_gstreamer()
    stage_start = time.monotonic()
    # The plain `docker build` of docs/content/how-to/cameras.md, with the CAs `ggctl build` passes (so both share
    # the layer cache).
    build_args = host_ca.with_host_certificates({"BASE_IMAGE": "debian:bookworm-slim"}, host_ca.host_certificates())
    build_s = docker_engine.build(REPO_ROOT / "components", REPO_ROOT / GRABBER.dockerfile, IMAGE, build_args)
    size_mb = docker_engine.image_size(IMAGE) / 1e6
    user = docker_engine.run("image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout.strip()
    assert user and user not in ("0", "root")
    history = docker_engine.run("image", "history", "--no-trunc", IMAGE).stdout
    assert "GRABBER_RTSP_URL" not in history and PASSWORD_URL not in history

    frames = tmp_path / "frames"
    frames.mkdir()
    frames.chmod(0o777)  # writable by the container's uid without needing root here
    name = f"grabber-test-{os.getpid()}"
    docker_engine.run(
        "run", "-d", "--name", name, "--network", "host", "--user", f"{UID}:{UID}",
        "-v", f"{frames}:/tmp/data", "-e", f"GRABBER_RTSP_URL={emulator.url()}", "-e", "GRABBER_MAX_FPS=5",
        IMAGE,
    )
    try:
        frame = frames / "frame.jpg"
        wait_for(lambda: frame_id(frame), 20, 0.05, "a frame from the container")
        assert frame.read_bytes()[:2] == b"\xff\xd8"
        assert frame.stat().st_uid == UID
        assert count_frames(frame, 2.0) >= 7
        stop_start = time.monotonic()
        docker_engine.run("stop", "-t", "10", name)
        stop_s = time.monotonic() - stop_start
    finally:
        logs = docker_engine.run("logs", name, check=False)
        docker_engine.run("rm", "-f", name, check=False)
    output = logs.stdout + logs.stderr + (frames / "frame.status.json").read_text()
    assert "frames arriving" in output
    assert PASSWORD not in output and PASSWORD_URL not in output
    assert stop_s < 5.0
    stage_s = time.monotonic() - stage_start
    with capsys.disabled():  # shown in CI logs: the stage time and image size are tracked there
        print(f"\ngrabber docker stage: {stage_s:.1f} s (build {build_s:.1f} s), image {size_mb:.0f} MB, "
              f"stop {stop_s:.1f} s")
