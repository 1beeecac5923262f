"""Fixtures for tests against nucleus lite: the build, cached per machine outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lite_bed import SOURCE_DIR, unavailable
from nucleus import NucleusUnavailable, build


@pytest.fixture(scope="session")
def nucleus_bin() -> Path:
    if not (SOURCE_DIR / "build.sh").exists():
        unavailable(f"{SOURCE_DIR} is absent (nucleus lite sources live in ../shared beside the checkout)")
    if os.geteuid() != 0:
        unavailable("nucleus lite's recipe-runner needs root (cgroups, /run/greengrass)")
    try:
        return build(SOURCE_DIR)
    except NucleusUnavailable as exc:
        unavailable(str(exc))
    raise AssertionError("unreachable")
