"""``people-counter doctor`` as a user runs it: a real process checking this machine; each problem is named with
its fix. Broken set-ups are made for real (a missing folder, a dead Docker socket, hidden GStreamer plugins)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from gst_plugins_support import env_without
from support import REPO_ROOT, shared_path

DOCTOR = Path(sys.executable).parent / "people-counter"
BODY_CONFIG = REPO_ROOT / "docs/examples/yolo-fastest-body.yaml"
TMPFS = Path("/dev/shm")


def doctor(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(DOCTOR), "doctor", *args], env=env or dict(os.environ), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def rows(output: str, status: str) -> List[Dict[str, str]]:
    """The table's rows with this status, parsed by the header's column positions (details may wrap)."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("COMPONENT"))
    names = lines[header].split()
    starts = [lines[header].index(name) for name in names]
    parsed: List[Dict[str, str]] = []
    for line in lines[header + 1:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        if cells[0]:
            parsed.append(dict(zip(names, cells)))
        else:  # a wrapped detail
            parsed[-1]["DETAIL"] += " " + cells[3]
    return [row for row in parsed if row["STATUS"] == status]


@pytest.fixture
def frames() -> Iterator[Path]:
    """A frame folder on a tmpfs, writable by the grabber image's user (uid 10001, gid 0)."""
    if not TMPFS.is_dir():
        pytest.skip("/dev/shm is not available")
    folder = TMPFS / f"doctor-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o770)
    if os.geteuid() == 0:
        os.chown(folder, 10001, 0)
    else:
        folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def counter_env(frame_folder: Path, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNT_PEOPLE_", "GRABBER_"))}
    return {**env, "COUNT_PEOPLE_SOURCE": str(frame_folder / "frame.jpg"), **extra}


@pytest.mark.docker
def test_healthy_machine_and_configuration_pass(docker_engine, frames):
    shared_path("models/yolo-fastest/yolo-fastest-1.1_body.cfg")
    env = counter_env(frames, DOCKER_HOST=docker_engine.env.get("DOCKER_HOST", ""))
    if not env["DOCKER_HOST"]:
        del env["DOCKER_HOST"]
    result = doctor("--config", str(BODY_CONFIG), "--grabber-user", "10001:0", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("no problems found")
    passed = {row["CHECK"] for row in rows(result.stdout, "ok")}
    assert passed >= {"gstreamer elements (codec h264)", "docker engine", "docker group", "folder exists",
                      "is a tmpfs", "writable by uid 10001", "python / mxnet pins", "model loads"}, result.stdout
    assert not rows(result.stdout, "problem") and not rows(result.stdout, "warning")


@pytest.mark.clean_install
def test_missing_frame_folder_is_named_with_the_set_up_command(tmp_path):
    missing = tmp_path / "no-such-frames"
    result = doctor("--skip", "docker", "--skip", "model", env=counter_env(missing))
    assert result.returncode == 1, result.stdout + result.stderr
    [problem] = rows(result.stdout, "problem")
    assert problem["DETAIL"] == f"{missing} does not exist"
    assert problem["FIX"] == f"sudo scripts/setup-frames-tmpfs.sh --dir {missing}"
    assert result.stdout.rstrip().endswith("1 problem(s)")


@pytest.mark.clean_install
def test_dead_docker_engine_is_named_with_the_fix(tmp_path, frames):
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed (scripts/setup.sh installs docker.io)")
    dead = tmp_path / "docker.sock"
    env = counter_env(frames, DOCKER_HOST=f"unix://{dead}")
    result = doctor("--skip", "model", "--grabber-user", "10001:0", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    [problem] = rows(result.stdout, "problem")
    assert problem["CHECK"] == "docker engine" and problem["DETAIL"].startswith(f"no engine answers at unix://{dead}")
    assert problem["FIX"] == "sudo systemctl start docker (or set DOCKER_HOST to a running engine)"


@pytest.mark.clean_install
def test_frame_folder_off_tmpfs_and_not_writable_by_the_grabber(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir(mode=0o755)
    result = doctor("--skip", "docker", "--skip", "model", "--grabber-user", "4321:4321", env=counter_env(folder))
    assert result.returncode == 1
    problems = rows(result.stdout, "problem")
    assert len(problems) == 2, result.stdout
    assert problems[0]["CHECK"] == "is a tmpfs" and problems[0]["DETAIL"].endswith("frames would wear the disk")
    assert problems[1]["CHECK"] == "writable by uid 4321"
    assert problems[1]["FIX"].startswith(f"sudo chown 4321:4321 {folder}")


@pytest.mark.clean_install
def test_missing_gstreamer_elements_name_the_package(tmp_path, frames):
    if shutil.which("gst-inspect-1.0") is None:
        pytest.skip("GStreamer tools not installed (scripts/setup.sh installs them)")
    env = {**env_without(tmp_path, "timeoverlay", "avdec_h264"), **counter_env(frames)}
    result = doctor("--skip", "docker", "--skip", "model", "--grabber-user", "10001:0", env=env)
    assert result.returncode == 1, result.stdout
    [problem] = rows(result.stdout, "problem")
    assert problem["COMPONENT"] == "grabber"
    assert problem["DETAIL"] == "missing GStreamer element 'avdec_h264' (Debian package gstreamer1.0-libav)"
    assert problem["FIX"] == "sudo apt-get install gstreamer1.0-libav"
    [warning] = rows(result.stdout, "warning")  # the emulator is for local testing: not required
    assert warning["COMPONENT"] == "emulator" and warning["FIX"] == "sudo apt-get install gstreamer1.0-x"


@pytest.mark.clean_install
def test_unreachable_broker_and_influxdb_are_problems(tmp_path, frames):
    from local_stack.services import free_port

    port = free_port()
    env = counter_env(frames, COUNT_PEOPLE_PUBLISH=f"mqtt://127.0.0.1:{port}",
                      COUNT_PEOPLE_INFLUX_URL=f"http://127.0.0.1:{port}")
    result = doctor("--skip", "docker", "--skip", "model", "--grabber-user", "10001:0", env=env)
    assert result.returncode == 1
    problems = rows(result.stdout, "problem")
    assert [p["CHECK"] for p in problems] == ["mqtt broker", "influxdb"], result.stdout


def test_bad_setting_is_a_one_line_error(tmp_path):
    result = doctor(env={**os.environ, "COUNT_PEOPLE_MAX_FPS": "fast"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bad value for max_fps" in result.stderr


PYTHON_312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")


@pytest.mark.skipif(not PYTHON_312.is_file(), reason=f"needs Python 3.12 at {PYTHON_312}")
def test_doctor_says_which_path_the_install_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from count_people.config import Settings
    from doctor.counter_checks import install_path_check

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(PYTHON_312)
    monkeypatch.setenv("PATH", str(bin_dir))
    export = tmp_path / "ssd_512_resnet50_v1_voc.onnx"
    export.write_bytes(b"")
    none = install_path_check(Settings())
    assert (none.status, none.detail) == ("problem", "none: python3 is 3.12, no Python 3.9 to 3.11 for MXNet, "
                                                     "and no ONNX export (onnx_export)")
    assert "install python3.11" in none.fix
    onnx = install_path_check(Settings(onnx_export=str(export)))
    assert (onnx.status, onnx.detail.split(":")[0]) == ("ok", "ONNX export on ONNX Runtime with python3 (3.12)")
    (bin_dir / "python3.11").symlink_to(sys.executable)  # this venv's Python is 3.11 (scripts/setup.sh)
    mxnet = install_path_check(Settings())
    assert (mxnet.status, mxnet.detail) == ("ok", "MXNet with python3.11 (3.11)")
