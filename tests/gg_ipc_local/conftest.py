"""A real SDK client of the test's ``ipc`` server (each test module defines ``ipc``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(ipc):
    made = ipc.client()
    yield made
    made.close()
