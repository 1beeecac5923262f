"""Scripted tracks through a camera's analytics hooks, as the counting loop runs them (tests/count_people/analytics)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from count_people.analytics.hook import Analytics
from count_people.comms.base import Publisher
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame

IMAGE = np.zeros((480, 640, 3), np.uint8)
#: A vertical door in the middle of the frame: walking left to right is "in".
DOOR = {"door": [[0.5, 1.0], [0.5, 0.0]]}


class Recorder(Publisher):
    """Keeps what is published: (topic, payload, qos)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, bytes, int | None]] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> Recorder:
        return cls()

    def publish(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        self.sent.append((topic, payload, qos))


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def person(x: float, y: float = 300.0, height: float = 100.0) -> Detection:
    """A person box with its feet at (x, y) pixels."""
    return Detection("person", 0.9, (x - 20.0, y - height, x + 20.0, y))


class Camera:
    """One camera's hooks from ``analytics.create_hooks``, fed one frame of boxes at a time."""

    def __init__(self, analytics: Analytics, settings: Settings) -> None:
        self.loop = SimpleNamespace(settings=settings, publisher=Recorder())
        self.hooks = analytics.create_hooks(self.loop)
        self.frames = 0

    def frame(self, detections: list[Detection], capture_time: float | None = None) -> dict[str, Any]:
        """One frame taken at ``capture_time`` (default: the next of a 10 fps camera)."""
        message: dict[str, Any] = {"counts": {}}
        frame = Frame(IMAGE, self.frames / 10 if capture_time is None else capture_time, 0.0, self.frames)
        self.frames += 1
        for hook in self.hooks:
            hook.annotate(frame, detections, message)
        return message

    def walk(self, xs: list[float], y: float = 300.0) -> list[dict[str, Any]]:
        return [self.frame([person(x, y)]) for x in xs]

    def close(self) -> None:
        for hook in self.hooks:
            hook.close()


def analytics_settings(tmp_path: Path, **changes: Any) -> Settings:
    """One door, totals saved in ``tmp_path``, tracks confirmed at once."""
    base = {"lines": DOOR, "state_file": str(tmp_path / "counts.json"), "tracker_confirm_s": 0}
    return Settings().updated({**base, **changes})
