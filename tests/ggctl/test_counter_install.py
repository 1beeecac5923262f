"""The counter's Install step (install.sh from the built ZIP) as the nucleus runs it: venv per version from the
wheel, no write into the artifact folder, an immediate return when done, and a rollback that needs no index.

Requirements come from the package index (pip's cache when PIP_CACHE_DIR is set, as here); the MXNet
stack is left out (install_mxnet false) to keep the test light. On a host whose python3 is 3.12 or 3.13
(no MXNet 1.9.1 there), the default install_mxnet auto builds the ONNX Runtime venv and the counter counts
real frames with the default network's ONNX export; install_mxnet true fails with one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from ggctl import build
from ggctl.models import ModelFiles, with_onnx_export
from ggctl.project import COUNTER, with_version
from ggctl_support import ROOT

FOOTAGE = ROOT.parent / "shared" / "footage" / "TUD-Campus" / "TUD-Campus.mp4"
PYENV = Path("/root/.pyenv/versions")
NEW_PYTHONS = {"3.12": PYENV / "3.12.1/bin/python3.12", "3.13": PYENV / "3.13.0/bin/python3.13"}
#: Shared across runs, so that a rerun installs from pip's cache.
PIP_CACHE = Path("/var/cache/count-people-pip")

#: An index nobody answers on, and no configured find-links: any download fails at once.
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": os.devnull}


def unpacked(tmp_path: Path, components: dict, version: str, models: ModelFiles = build.NO_MODELS) -> Path:
    """The counter ZIP of ``version`` unpacked as the nucleus does ({artifacts:decompressedPath}/count_people)."""
    component = with_version(components[COUNTER.key], version)
    archive = tmp_path / f"count_people-{version}.zip"
    build.build_counter_zip(ROOT, component, archive, models)
    target = tmp_path / "artifacts-unarchived" / component.name / version / "count_people"
    zipfile.ZipFile(archive).extractall(target)
    return target


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def install(artifacts: Path, venv: Path, extra_env: dict | None = None) -> tuple[float, str]:
    """Runs the recipe's Install command line; returns (seconds, output)."""
    pip_cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True).stdout
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PIP_CACHE_DIR": pip_cache.strip(),
           **(extra_env or {})}
    start = time.monotonic()
    result = subprocess.run(["sh", str(artifacts / "install.sh"), str(venv), "false", "python3"], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return time.monotonic() - start, result.stdout + result.stderr


def starts(venv: Path) -> None:
    result = subprocess.run([str(venv / "bin" / "count-people"), "--help"], capture_output=True, text=True,
                            timeout=120, env={"PATH": os.environ["PATH"], **OFFLINE})
    assert result.returncode == 0 and "--publish" in result.stdout, result.stderr


@pytest.mark.timeout(1200)
def test_install_from_the_wheel_is_idempotent_and_a_rollback_needs_no_index(tmp_path: Path, components: dict) -> None:
    work = tmp_path / "work" / components[COUNTER.key].name
    first = unpacked(tmp_path, components, "1.0.0")
    before = snapshot(first)

    # Fresh work folder: the venv is built from the wheel, nothing written beside install.sh.
    _, output = install(first, work / "venv-1.0.0")
    assert "built" in output and (work / "venv-1.0.0" / ".installed").is_file()
    assert snapshot(first) == before
    starts(work / "venv-1.0.0")

    # Every later start of the same version: at once, without touching the venv.
    seconds, output = install(first, work / "venv-1.0.0", OFFLINE)
    assert seconds < 2 and "up to date" in output, (seconds, output)

    # An older complete venv and an interrupted one lie around; the version bump keeps only the previous one.
    stale = work / "venv-0.9.0"
    (stale / "bin").mkdir(parents=True)
    (stale / ".installed").write_text("old\n")
    os.utime(stale / ".installed", (1, 1))
    (work / "venv-0.9.5" / "bin").mkdir(parents=True)
    bumped = unpacked(tmp_path, components, "1.0.1")
    _, output = install(bumped, work / "venv-1.0.1")
    assert sorted(p.name for p in work.iterdir()) == ["venv-1.0.0", "venv-1.0.1"], output
    starts(work / "venv-1.0.1")

    # Rollback to 1.0.0 with no reachable index: its venv is there and complete, so Install returns at once.
    seconds, output = install(first, work / "venv-1.0.0", OFFLINE)
    assert seconds < 2 and "up to date" in output, (seconds, output)
    starts(work / "venv-1.0.0")
    assert snapshot(first) == before

    # A venv whose build was interrupted (no marker) is rebuilt, and without an index that fails loudly.
    (work / "venv-1.0.0" / ".installed").unlink()
    result = subprocess.run(["sh", str(first / "install.sh"), str(work / "venv-1.0.0"), "false"], timeout=300,
                            env={"PATH": os.environ["PATH"], **OFFLINE}, capture_output=True, text=True)
    assert result.returncode != 0 and not (work / "venv-1.0.0" / ".installed").exists()


def test_install_refuses_a_bad_mxnet_switch_and_a_missing_wheel(tmp_path: Path, components: dict) -> None:
    artifacts = unpacked(tmp_path, components, "1.0.0")
    result = subprocess.run(["sh", str(artifacts / "install.sh"), str(tmp_path / "venv"), "maybe"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "install_mxnet must be auto, true or false, got 'maybe'" in result.stderr
    for wheel in artifacts.glob("*.whl"):
        wheel.unlink()
    result = subprocess.run(["sh", str(artifacts / "install.sh"), str(tmp_path / "venv"), "false"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "expected one count_people_component wheel" in result.stderr
    assert not (tmp_path / "venv").exists()


def only_python(tmp_path: Path, python: Path) -> dict[str, str]:
    """An environment whose PATH has the system's tools but, as its only Python, ``python`` as python3."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for folder in (Path("/usr/local/bin"), Path("/usr/bin"), Path("/bin")):
        for tool in folder.iterdir():
            if not tool.name.startswith(("python", "pip")) and not (tools / tool.name).exists():
                (tools / tool.name).symlink_to(tool)
    (tools / "python3").symlink_to(python)
    PIP_CACHE.mkdir(parents=True, exist_ok=True)
    return {"PATH": str(tools), "HOME": os.environ.get("HOME", "/tmp"), "PIP_CACHE_DIR": str(PIP_CACHE)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelFiles, Path]:
    """The default network's ONNX export as ggctl build makes it (shaped weights), and real frames to count."""
    pytest.importorskip("mxnet", reason="the export needs the mxnet extra")
    if not FOOTAGE.is_file():
        pytest.skip(f"needs ../shared ({FOOTAGE})")
    import cv2
    from count_people.detectors.gluoncv import save_shaped_params
    from count_people.detectors.int8 import calibration_images

    folder = tmp_path_factory.mktemp("export")
    frames = folder / "frames"
    frames.mkdir()
    for index, frame in enumerate(calibration_images(str(FOOTAGE), 3)):
        cv2.imwrite(str(frames / f"{index:03}.jpg"), frame)
    params = save_shaped_params("ssd_512_resnet50_v1_voc", str(folder / "shaped.params"),
                                cv2.imread(str(frames / "000.jpg")))
    lines: list[str] = []
    models = with_onnx_export(ModelFiles(params=Path(params)), folder / "onnx", lines.append)
    assert models.onnx_export is not None, lines
    return ModelFiles(onnx_export=models.onnx_export), frames


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("version", sorted(NEW_PYTHONS))
def test_a_host_with_only_a_new_python_counts_with_the_onnx_export(
        tmp_path: Path, components: dict, exported: tuple[ModelFiles, Path], version: str) -> None:
    if not NEW_PYTHONS[version].is_file():
        pytest.skip(f"no Python {version} at {NEW_PYTHONS[version]}")
    models, frames = exported
    artifacts = unpacked(tmp_path, components, "1.0.0", models)
    env = only_python(tmp_path, NEW_PYTHONS[version])
    venv = tmp_path / "work" / "venv-1.0.0"

    # install_mxnet true: one line naming the fix, nothing built.
    result = subprocess.run(["sh", str(artifacts / "install.sh"), str(venv), "true", "python3"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and not venv.exists(), result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"python3: {version}" in line
    assert "install python3.11, or set install_mxnet to auto" in line

    # The recipe's default (auto): ONNX Runtime with the host's python3.
    result = subprocess.run(["sh", str(artifacts / "install.sh"), str(venv), "auto", "python3"], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"onnx stack with python3 (Python {version})" in result.stdout
    assert (venv / ".installed").is_file()

    # The installed counter, as the recipe's Run step starts it (the export from the artifact), on real frames.
    export = artifacts / "models" / models.onnx_export.name  # type: ignore[union-attr]
    result = subprocess.run([str(venv / "bin" / "count-people"), "--source", str(frames), "--onnx-export",
                             str(export), "--threshold", "0.3"], capture_output=True, text=True, timeout=600,
                            env={**env, **OFFLINE})
    assert result.returncode == 0, result.stderr
    assert "running the ONNX export" in result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(messages) == 3 and all(isinstance(m["count"], int) for m in messages), messages
