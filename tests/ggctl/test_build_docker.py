"""`ggctl build gst-grabber` with a real Docker engine; the recipe's Install/Run/Shutdown run against it.

Reuses the docker_engine fixture (tests/conftest.py) and the layer cache of the grabber's own image
tests, so the build itself is mostly cached; docker save | gzip dominates (about 20 s).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from docker_support import extra_ca_certs
from ggctl import build
from ggctl.cli import main
from ggctl.project import GRABBER, load_components
from ggctl_support import ROOT

pytestmark = pytest.mark.docker


def resolve_variables(text: str, configuration: dict, artifacts: Path) -> str:
    """What the nucleus does to a lifecycle script: recipe variables replaced by their values."""
    text = text.replace("{artifacts:path}", str(artifacts))
    return re.sub(r"\{configuration:/(\w+)\}", lambda m: str(configuration[m.group(1)]), text)


def docker_logging_calls(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose ``docker`` logs each subcommand and then runs the real CLI against the same engine."""
    real = shutil.which("docker")
    assert real
    folder, log = tmp_path / "bin", tmp_path / "docker-calls.log"
    folder.mkdir()
    wrapper = folder / "docker"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}", log


def test_grabber_tarball_loads_once_and_runs_with_the_recipe_lifecycle(docker_engine, monkeypatch,
                                                                        tmp_path: Path) -> None:
    for key, value in docker_engine.env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    assert main(["--root", str(ROOT), "--out", str(out), "build", GRABBER.key, "--network", "host",
                 *[arg for k, v in extra_ca_certs().items() for arg in ("--build-arg", f"{k}={v}")]]) == 0
    grabber = load_components(ROOT)[GRABBER.key]
    (artifact,) = build.built_artifacts(out, [grabber])[GRABBER.key].artifacts
    tarball = Path(artifact.path)
    with gzip.open(tarball) as packed:  # a gzipped tar, as `docker save | gzip` gives
        assert packed.read(512)[257:262] == b"ustar"

    # The recipe declares the architecture docker built, under Greengrass' name for it, and the image ID.
    docker_arch = docker_engine.run("image", "inspect", "--format", "{{.Architecture}}", grabber.image).stdout.strip()
    image_id = docker_engine.run("image", "inspect", "--format", "{{.Id}}", grabber.image).stdout.strip()
    assert (artifact.architecture, artifact.image_id) == (build.GREENGRASS_ARCH[docker_arch], image_id)
    recipe = yaml.safe_load((out / "recipes" / f"{grabber.name}-{grabber.version}.yaml").read_text())
    (manifest,) = recipe["Manifests"]
    assert manifest["Platform"] == {"os": "linux", "architecture": artifact.architecture}
    assert manifest["Artifacts"][0]["URI"].endswith(f"/{tarball.name}")
    configuration = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    frames = tmp_path / "frames"
    frames.mkdir()
    # Host network: these sandboxes may lack the docker0 bridge; the recipe default (bridge) is not under test.
    configuration.update(frame_dir=frames, rtsp_url="rtsp://127.0.0.1:9/no-camera", stop_timeout_s=2,
                         docker_network="host")
    lifecycle = manifest["Lifecycle"]
    install = resolve_variables(lifecycle["Install"]["Script"], configuration, tarball.parent)
    assert "{" not in install.replace("{{", "")  # nucleus lite would read any brace as a recipe variable
    path, calls = docker_logging_calls(tmp_path)

    def run_install() -> str:
        result = subprocess.run(["sh", "-c", install], capture_output=True, text=True, timeout=600,
                                env={**docker_engine.env, "PATH": path})
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    # Older versions of the image: the newest other one stays (rollback), older ones go.
    repository = grabber.image.split(":")[0]
    for old in ("0.8.0", "0.9.0"):
        docker_engine.run("build", "-t", f"{repository}:{old}", "-", input=f"FROM {grabber.image}\nLABEL v={old}\n")
        time.sleep(1.1)  # docker lists images newest first by their creation second
    # Install from nothing loads the image; every later start finds it and loads nothing.
    docker_engine.run("rmi", grabber.image)
    assert not docker_engine.image_exists(grabber.image)
    run_install()
    assert docker_engine.run("images", "--no-trunc", "--quiet", grabber.image).stdout.strip() == image_id
    output = run_install()
    assert "is already loaded" in output
    assert calls.read_text().split().count("load") == 1
    assert docker_engine.image_exists(f"{repository}:0.9.0") and not docker_engine.image_exists(f"{repository}:0.8.0")
    docker_engine.run("rmi", f"{repository}:0.9.0")

    # Run: the container starts (read-only, no capabilities, frame dir bind-mounted) and writes its heartbeat.
    env = {**docker_engine.env, **{k: resolve_variables(v, configuration, tarball.parent)
                                   for k, v in lifecycle["Run"]["Setenv"].items()}}
    run = subprocess.Popen(["sh", "-c", resolve_variables(lifecycle["Run"]["Script"], configuration, tarball.parent)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    status_file = frames / "frame.status.json"
    try:
        deadline = time.monotonic() + 60
        while not status_file.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status_file.exists(), run.stdout.read() if run.poll() is not None else "no status file"
        status = json.loads(status_file.read_text())
        assert status["camera"] == "rtsp://127.0.0.1:9/no-camera"
        inspect = json.loads(docker_engine.run("inspect", grabber.name).stdout)[0]
        assert inspect["HostConfig"]["ReadonlyRootfs"] is True and inspect["HostConfig"]["CapDrop"] == ["ALL"]
        assert inspect["HostConfig"]["AutoRemove"] is True
        assert inspect["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    finally:
        # Shutdown: docker stop ends Run, and --rm leaves no container behind.
        shutdown = resolve_variables(lifecycle["Shutdown"]["Script"], configuration, tarball.parent)
        subprocess.run(["sh", "-c", shutdown], env=docker_engine.env, capture_output=True, timeout=60)
        run.wait(timeout=30)
    deadline = time.monotonic() + 10
    while docker_engine.run("inspect", grabber.name, check=False).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert docker_engine.run("inspect", grabber.name, check=False).returncode != 0
