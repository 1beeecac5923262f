"""Clean-install stage: ``scripts/setup.sh``, the ``clean_install`` tests and ``people-counter doctor`` in a
container that starts with nothing of the project installed.

Why: a check that passes only on a machine prepared by hand hides the next missing install step (issue 12).
The container starts from the offline Debian base image the Docker tests make (tests/docker_support.py) and
gets the checkout as ``git ls-files`` lists it (tracked and new files; never .venv). Only download caches are
shared with the host (apt archives, pip cache) so a second run is faster; installed state never is, so a
package or pin missing from setup.sh/pyproject.toml fails here. ../shared is mounted read-only when present.

Usage: .venv/bin/python scripts/clean_install_check.py   (scripts/test.sh runs it; SKIP_CLEAN_INSTALL=1 skips it there)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import List

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
import docker_support  # noqa: E402 - the engine and base image the Docker tests use

BASE_IMAGE = docker_support.DEFAULT_BASE_IMAGE
CACHE_DIR = Path(os.environ.get("EPC_CLEAN_INSTALL_CACHE", Path.home() / ".cache/edge-people-counter/clean-install"))
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
#: The host's trust store: TLS to PyPI may be intercepted here, and the base image has no CA bundle at all.
HOST_CA = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
CA_INSIDE = "/etc/ssl/host-ca.crt"

# Runs inside the container; the checkout arrives on stdin as a tar stream.
INSIDE = r"""
set -euo pipefail
mkdir -p /work/main && tar -x -C /work/main && cd /work/main
stage() { echo "clean-install: $1 ($SECONDS s)"; }
stage "setup.sh"
scripts/setup.sh
stage "pytest -m clean_install"
.venv/bin/python -m pytest -q -rs -p no:cacheprovider -m clean_install
stage "people-counter doctor"
install -d -o 10001 -g 0 -m 0750 /dev/shm/frames
export COUNT_PEOPLE_SOURCE=/dev/shm/frames/frame.jpg
if [[ -d ../shared ]]; then model=(--config docs/examples/yolo-fastest-body.yaml); else model=(--skip model); fi
# No Docker engine in here: the grabber's image is tested by the Docker tests on the host.
.venv/bin/people-counter doctor "${model[@]}" --skip docker
stage "passed"
"""


def checkout_files() -> List[str]:
    """What a fresh clone would hold, plus files not committed yet (so developers test what they have)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return sorted(name for name in listed if name and (REPO_ROOT / name).is_file())


def docker_args(name: str) -> List[str]:
    apt_cache, pip_cache = CACHE_DIR / "apt", CACHE_DIR / "pip"
    apt_cache.mkdir(exist_ok=True)
    pip_cache.mkdir(exist_ok=True)
    args = [
        "run", "--rm", "-i", "--name", name, "--network", "host",
        "-v", f"{apt_cache}:/var/cache/apt/archives", "-v", f"{pip_cache}:/root/.cache/pip",
        "-v", f"{HOST_CA}:{CA_INSIDE}:ro",
        "-e", f"PIP_CERT={CA_INSIDE}", "-e", f"SSL_CERT_FILE={CA_INSIDE}", "-e", f"REQUESTS_CA_BUNDLE={CA_INSIDE}",
        "-e", "PIP_DISABLE_PIP_VERSION_CHECK=1", "-e", f"CI={os.environ.get('CI', '')}",
    ]
    if SHARED_DIR.is_dir():
        args += ["-v", f"{SHARED_DIR.resolve()}:/work/shared:ro"]
    return [*args, BASE_IMAGE, "bash", "-c", INSIDE]


def run_stage(engine: docker_support.DockerEngine) -> int:
    """Streams the checkout into the container and its output to ours; returns the container's exit status."""
    name = f"epc-clean-install-{os.getpid()}"
    proc = subprocess.Popen(["docker", *docker_args(name)], env=engine.env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        with tarfile.open(fileobj=proc.stdin, mode="w|") as tar:
            for relative in checkout_files():
                tar.add(REPO_ROOT / relative, arcname=relative, recursive=False)
        proc.stdin.close()
        return proc.wait()
    except BaseException:
        subprocess.run(["docker", "rm", "-f", name], env=engine.env, capture_output=True)
        proc.wait()
        raise


def main(argv: List[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    in_ci = os.environ.get("CI", "").lower() == "true"
    start = time.monotonic()
    try:
        engine = docker_support.engine_for_tests([BASE_IMAGE])
    except docker_support.DockerUnavailable as exc:
        if in_ci:
            print(f"clean-install: error: Docker is required in CI: {exc}", file=sys.stderr)
            return 1
        print(f"clean-install: skipped: {exc}")
        return 0
    except (RuntimeError, subprocess.SubprocessError) as exc:  # debootstrap or docker import failed
        print(f"clean-install: error: cannot make the base image {BASE_IMAGE}: {exc}", file=sys.stderr)
        return 1
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "stage.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one stage at a time: apt locks the shared archive cache
        ready = time.monotonic()
        status = run_stage(engine)
    done = time.monotonic()
    verdict = "passed" if status == 0 else f"FAILED (exit {status})"
    print(f"clean-install: {verdict} in {done - start:.0f} s (engine and base image {ready - start:.0f} s, "
          f"container {done - ready:.0f} s)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
