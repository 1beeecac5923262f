"""The counter's Docker image (for docker-compose) builds with the local engine and counts frames."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import REPO_ROOT, body_model_args, jpeg_bytes

TAG = "count-people:test"


def build_context(tmp_path: Path) -> Path:
    """A clean copy of what the Dockerfile reads, plus this machine's CA bundle (TLS-intercepting proxy)."""
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO_ROOT / "components", context / "components", ignore=ignore)
    shutil.copytree(REPO_ROOT / "docker", context / "docker", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, context / name)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        shutil.copy(bundle, context / "docker" / "certs" / "host-bundle.crt")
    return context


@pytest.mark.docker
def test_counter_image_builds_and_counts(docker_engine, tmp_path, frame_bgr):
    model_args = body_model_args()
    context = build_context(tmp_path)
    seconds = docker_engine.build(context, context / "docker" / "count_people" / "Dockerfile", TAG)
    print(f"counter image: built in {seconds:.0f} s, {docker_engine.image_size(TAG) / 2**20:.0f} MiB")
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        (frames / f"{index}.jpg").write_bytes(jpeg_bytes(frame_bgr, 80 + index))
    models = Path(model_args[model_args.index("--model") + 1]).parent
    in_container = [arg.replace(str(models), "/models") for arg in model_args]
    result = docker_engine.run(
        "run", "--rm", "--user", "10002", "--network", "none",
        "-v", f"{frames}:/data:ro", "-v", f"{models}:/models:ro",
        TAG, "--source", "/data", *in_container, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(messages) == 3 and all(m["frame_size"] == [640, 480] for m in messages)
