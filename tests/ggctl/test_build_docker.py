"""`ggctl build gst-grabber` with a real Docker engine; the recipe's Install/Run/Shutdown run against it.

Reuses the docker_engine fixture (tests/conftest.py) and the layer cache of the grabber's own image
tests, so the build itself is mostly cached; docker save | gzip dominates (about 20 s). No test passes
EXTRA_CA_CERTS: ggctl's default (this host's added CAs) is what gets pip through a TLS-intercepting proxy.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from ggctl import build, host_ca
from ggctl.cli import main
from ggctl.project import GRABBER, load_components
from ggctl_support import ROOT, gdk_built, gdk_component_build, project_copy

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
    assert main(["--root", str(ROOT), "--out", str(out), "build", GRABBER.key, "--network", "host"]) == 0
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


def intercepted_by_a_host_ca() -> bool:
    """Whether PyPI's certificate here verifies against this host's added CAs alone (a TLS-intercepting proxy)."""
    certificates = host_ca.host_certificates()
    if not certificates:
        return False
    context = ssl.create_default_context(cadata="\n".join(certificates))  # these only, not the system's
    try:
        with socket.create_connection(("pypi.org", 443), timeout=20) as raw, \
                context.wrap_socket(raw, server_hostname="pypi.org"):
            return True
    except (OSError, ssl.SSLError):
        return False


def test_gdk_custom_build_command_works_behind_the_proxy_and_leaves_no_ca_in_the_image(docker_engine, capsys,
                                                                                       tmp_path: Path) -> None:
    """`cd recipes/gst_grabber && gdk component build`: GDK finds its project there and runs the custom build
    command as is, no flags. Behind an intercepting proxy only the host's added CAs get pip through."""
    project = project_copy(tmp_path / "project")
    folder = project / GRABBER.gdk_dir
    env = {**os.environ, **docker_engine.env}
    env.pop("DOCKER_BUILDKIT", None)  # as a user's shell has it: docker picks its builder
    start = time.monotonic()
    result = gdk_component_build(folder, env)
    assert result.returncode == 0, result.stdout + result.stderr
    with capsys.disabled():
        print(f"\ngdk custom build of the grabber: {time.monotonic() - start:.1f} s")
    grabber = load_components(project)[GRABBER.key]
    recipe, artifacts = gdk_built(folder)
    assert artifacts == [build.grabber_file("amd64")]
    assert recipe["ComponentName"] == grabber.name

    # The CAs were a build argument of the pip stage only: not in the image's history, no file of it holds one.
    history = docker_engine.run("image", "history", "--no-trunc", grabber.image).stdout
    assert host_ca.BUILD_ARG not in history and "BEGIN CERTIFICATE" not in history
    for certificate in host_ca.host_certificates():
        line = certificate.splitlines()[1]
        found = docker_engine.run("run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "grep",
                                  grabber.image, "-rlsF", line, "/etc", "/usr", "/opt", "/var", check=False,
                                  timeout=300)
        assert found.returncode == 1 and not found.stdout, found.stdout + found.stderr


def test_no_host_ca_fails_behind_the_proxy_with_one_line_naming_the_cause(docker_engine, monkeypatch, capsys,
                                                                          tmp_path: Path) -> None:
    if not intercepted_by_a_host_ca():
        pytest.skip("HTTPS to PyPI is not intercepted by a CA in this host's added CAs: nothing to refuse")
    for key, value in docker_engine.env.items():
        monkeypatch.setenv(key, value)
    start = time.monotonic()
    code = main(["--root", str(ROOT), "--out", str(tmp_path / "out"), "build", GRABBER.key, "--no-host-ca",
                 "--network", "host"])
    errors = capsys.readouterr().err.strip().splitlines()
    with capsys.disabled():
        print(f"\n--no-host-ca build failed after {time.monotonic() - start:.1f} s: {errors}")
    assert code == 1
    assert errors == ["ggctl: error: gst-grabber: docker build could not verify HTTPS inside the image "
                      "(CERTIFICATE_VERIFY_FAILED; 0 extra CA certificate(s) passed in): if your network "
                      f"intercepts TLS, add its CA to {host_ca.DEBIAN_DIR} (ggctl passes those in unless "
                      "--no-host-ca) or pass --build-arg EXTRA_CA_CERTS=\"$(cat ca.pem)\""]
