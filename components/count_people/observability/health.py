"""``/healthz``: fails when no new frame arrived for ``health_timeout`` s or the publisher cannot deliver.

Orchestrators (Docker healthchecks, Kubernetes probes, a Greengrass watchdog script) act on
the status code; the JSON body says why, for a human reading it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook, LoopState
from count_people.observability.grabber import GrabberStatusFile

if TYPE_CHECKING:
    from count_people.observability.server import Response


class Health(FrameHook):
    """Tracks the last frame and how long the publisher has been unable to deliver."""

    def __init__(self, counter: LoopState, grabber: GrabberStatusFile | None = None) -> None:
        self.counter = counter
        self.grabber = grabber
        self.started = time.monotonic()
        self.last_frame: float | None = None
        self._publisher_down_since: float | None = None

    def observe(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        self.last_frame = time.monotonic()

    def check(self, now: float | None = None) -> tuple[bool, dict[str, Any]]:
        """(healthy, details); a publisher failing for less than the timeout is still healthy."""
        now = time.monotonic() if now is None else now
        timeout = self.counter.settings.health_timeout
        reasons = []
        idle = now - (self.last_frame if self.last_frame is not None else self.started)
        if idle > timeout:
            reasons.append(f"no new frame for {idle:.1f} s" if self.last_frame else f"no frame yet after {idle:.1f} s")
        publisher = self.counter.publisher
        if publisher.healthy:
            self._publisher_down_since = None
        elif self._publisher_down_since is None:
            self._publisher_down_since = now
        down = 0.0 if self._publisher_down_since is None else now - self._publisher_down_since
        if down > timeout:
            reasons.append(f"publisher unable to deliver for {down:.1f} s")
        details: dict[str, Any] = {
            "status": "unhealthy" if reasons else "ok",
            "reasons": reasons,
            "seconds_since_frame": None if self.last_frame is None else round(now - self.last_frame, 3),
            "frames_processed": self.counter.frames_processed,
            "publisher": {"healthy": publisher.healthy, **vars(publisher.stats)},
        }
        if self.grabber is not None:
            details["grabber"] = self.grabber.read()
        return not reasons, details

    def route(self, query: dict[str, str]) -> Response:
        healthy, details = self.check()
        return (200 if healthy else 503), "application/json", json.dumps(details).encode()
