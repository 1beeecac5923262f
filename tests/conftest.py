"""Fixtures shared by every component's tests (tests/ is on sys.path: ``from support import ...``).

``docker_engine``: a Docker engine with offline base images (see tests/docker_support.py), for any
component that builds an image.
"""

from __future__ import annotations

import logging
import os

import docker_support
import pytest
from support import Mosquitto


@pytest.fixture(scope="session")
def docker_engine() -> docker_support.DockerEngine:
    """An engine with the debootstrap base image; skips only where Docker cannot run, never in CI."""
    try:
        reason = docker_support.unavailable_reason()
        if not reason:
            return docker_support.engine_for_tests()
    except docker_support.DockerUnavailable as exc:  # e.g. dockerd cannot run in this sandbox
        reason = str(exc)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Docker is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def mosquitto(tmp_path):
    """A running mosquitto broker on a free loopback port (stop()/start() to simulate outages)."""
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture(autouse=True)
def _restore_logging():
    """CLIs run in-process call logging.basicConfig(force=True) on the captured stderr; undo it after each
    test so a later test's logging never writes to a closed capture stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
