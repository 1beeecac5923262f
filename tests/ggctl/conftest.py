"""ggctl fixtures: the repository's components, a real S3 server (moto_server over HTTP), fake credentials.

Only the Greengrass control plane, which no local server implements, is stubbed (botocore Stubber).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ggctl import build
from ggctl.aws import Aws
from ggctl.project import COUNTER, GRABBER, load_components
from ggctl_support import REGION, ROOT, fake_grabber


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto_server on 127.0.0.1 (real HTTP S3 and STS), stopped after the session."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, tmp_path: Path) -> str:
    """Fake credentials, STS on moto (the account lookup is real HTTP too), no ~/.aws files."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def aws(aws_env: str) -> Aws:
    return Aws(region=REGION, s3_endpoint_url=aws_env, greengrass_endpoint_url="https://greengrass.invalid")


@pytest.fixture
def components() -> dict:
    return load_components(ROOT)


@pytest.fixture
def built(tmp_path: Path, components: dict) -> Path:
    """build/ggctl-like output with the real counter ZIP and a small stand-in grabber tarball.

    The real grabber tarball needs Docker and takes a while; test_build_docker.py covers it.
    """
    out = tmp_path / "out"
    built_counter, errors = build.build_all(ROOT, components, [components[COUNTER.key]], out, report=lambda _: None)
    assert not errors and built_counter
    fake_grabber(out, components[GRABBER.key], b"stand-in image tarball")
    return out
