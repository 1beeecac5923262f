"""Fixtures starting real emulators and grabbers; torn down after each test."""

from __future__ import annotations

import pytest
from grabber_support import Emulator, Grabber, require_gstreamer


@pytest.fixture
def emulator_factory():
    require_gstreamer()
    started: list[Emulator] = []

    def make(*args, **kwargs) -> Emulator:
        emu = Emulator(*args, **kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory) -> Emulator:
    return emulator_factory()


@pytest.fixture
def grabber_factory(tmp_path):
    require_gstreamer()
    started: list[Grabber] = []

    def make(url: str, **settings: object) -> Grabber:
        grabber = Grabber(url, tmp_path / f"out{len(started)}", **settings).start()
        started.append(grabber)
        return grabber

    yield make
    for grabber in started:
        if grabber.proc and grabber.proc.poll() is None:
            grabber.stop()
