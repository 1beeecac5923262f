"""A Docker engine and an offline base image for tests that build and run images.

These machines reach only package registries, so no base image can be pulled. When no engine
answers, a private ``dockerd`` is started (as root, state under /tmp, own socket) and left running
for later test runs; when the base image is missing it is made with ``debootstrap --variant=minbase``
and ``docker import``. Both steps hold a file lock so that concurrent test runs share one engine.
Used by the ``docker_engine`` fixture in tests/conftest.py; other components' image tests reuse it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path(os.environ.get("EPC_DOCKERD_DIR", "/tmp/epc-dockerd"))
PRIVATE_SOCKET = STATE_DIR / "docker.sock"
DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
DEBIAN_MIRROR = os.environ.get("EPC_DEBIAN_MIRROR", "http://deb.debian.org/debian")


class DockerUnavailable(RuntimeError):
    """Raised when no engine can be reached or started here (the reason is the message)."""


@dataclass(frozen=True)
class DockerEngine:
    """A reachable engine: ``run`` calls the docker CLI against it."""

    env: dict

    def run(
        self, *args: str, check: bool = True, timeout: float = 900, **kwargs
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", *args], env=self.env, check=check, timeout=timeout, text=True,
            capture_output=True, **kwargs,
        )

    def image_exists(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False, timeout=60).returncode == 0

    def image_size(self, name: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())

    def build(self, context: Path, dockerfile: Path, tag: str, build_args: dict | None = None) -> float:
        """Builds an image with host networking (apt inside then works even where the bridge has no route out).

        Returns the build time in seconds.
        """
        args = ["build", "--network", "host", "-t", tag, "-f", str(dockerfile)]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        start = time.monotonic()
        result = self.run(*args, str(context), check=False, timeout=1500)
        if result.returncode != 0:
            raise RuntimeError(f"docker build of {tag} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return time.monotonic() - start


def unavailable_reason() -> str | None:
    """Why Docker tests cannot run here, or None when they can (engine up or startable)."""
    if shutil.which("docker") is None:
        return "docker CLI not installed (apt-get install docker.io)"
    if _engine_answers(os.environ.copy()) or _engine_answers(_private_env()):
        return None
    if os.geteuid() != 0:
        return "no Docker engine answers and starting dockerd needs root"
    if shutil.which("dockerd") is None:
        return "no Docker engine answers and dockerd is not installed (apt-get install docker.io)"
    return None


def _private_env() -> dict:
    env = os.environ.copy()
    env["DOCKER_HOST"] = f"unix://{PRIVATE_SOCKET}"
    return env


def _cli_env(env: dict) -> dict:
    # The legacy builder needs no buildx plugin and honours --network host.
    return {**env, "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}


def _engine_answers(env: dict) -> bool:
    try:
        result = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"], env=env, capture_output=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_engine(start_timeout: float = 60) -> DockerEngine:
    """Returns an engine that answers, starting a private dockerd when none does."""
    reason = unavailable_reason()
    if reason:
        raise DockerUnavailable(reason)
    if _engine_answers(os.environ.copy()):
        return DockerEngine(_cli_env(os.environ.copy()))
    env = _private_env()
    with _locked("dockerd"):
        if not _engine_answers(env):
            _start_dockerd(env, start_timeout)
    return DockerEngine(_cli_env(env))


def _start_dockerd(env: dict, start_timeout: float) -> None:
    log = open(STATE_DIR / "dockerd.log", "ab")  # noqa: SIM115 - handed to the daemon, outlives this call
    proc = subprocess.Popen(
        [
            "dockerd",
            "--data-root", str(STATE_DIR / "data"),
            "--exec-root", str(STATE_DIR / "exec"),
            "--pidfile", str(STATE_DIR / "docker.pid"),
            "--host", f"unix://{PRIVATE_SOCKET}",
        ],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DockerUnavailable(f"dockerd exited with {proc.returncode}; see {STATE_DIR / 'dockerd.log'}")
        if _engine_answers(env):
            return
        time.sleep(0.5)
    raise DockerUnavailable(f"dockerd did not answer within {start_timeout:.0f} s; see {STATE_DIR / 'dockerd.log'}")


def ensure_base_image(engine: DockerEngine, name: str = DEFAULT_BASE_IMAGE, suite: str = "bookworm") -> None:
    """Makes ``name`` from a debootstrap minbase tree unless the engine already has it (kept between runs)."""
    if engine.image_exists(name):
        return
    with _locked("base-image"):
        if engine.image_exists(name):
            return
        if shutil.which("debootstrap") is None:
            raise DockerUnavailable("debootstrap is not installed (apt-get install debootstrap)")
        with tempfile.TemporaryDirectory(dir=STATE_DIR, prefix="rootfs-") as tmp:
            root = Path(tmp) / "root"
            subprocess.run(
                ["debootstrap", "--variant=minbase", suite, str(root), DEBIAN_MIRROR],
                check=True, capture_output=True, timeout=1200,
            )
            # Trim what a slim image does not ship: package lists and caches are refetched by apt.
            for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for entry in (root / sub).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            imported = subprocess.run(
                ["docker", "import", "--change", 'CMD ["bash"]', "-", name],
                stdin=tar.stdout, env=engine.env, capture_output=True, text=True, timeout=600,
            )
            tar.wait()
            if imported.returncode != 0:
                raise RuntimeError(f"docker import failed: {imported.stderr.strip()}")


def engine_for_tests(base_images: Sequence[str] = (DEFAULT_BASE_IMAGE,)) -> DockerEngine:
    """Engine plus base images, ready for ``docker build --build-arg BASE_IMAGE=...``."""
    engine = ensure_engine()
    for name in base_images:
        ensure_base_image(engine, name)
    return engine
