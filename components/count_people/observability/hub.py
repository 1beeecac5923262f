"""One HTTP server for every camera: merged ``/metrics``, ``/healthz`` per camera, a live view per camera.

Each camera gets its own hooks from ``create_hooks`` (a ``HookFactory``): metrics, health, live view
and InfluxDB, all labelled or tagged with its id; they leave the hub when the camera is removed. The
hub itself is a process-wide service of the loop: it follows ``http_host``/``http_port`` and closes
the server at the end. All are created whatever the settings say (each costs microseconds per frame
when idle), so turning the HTTP port, live view or InfluxDB on by a live configuration update just works.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from count_people.config import Settings
from count_people.hooks import FrameHook, LoopState
from count_people.observability.grabber import GrabberStatusFile, status_path
from count_people.observability.health import Health
from count_people.observability.influx import InfluxHook
from count_people.observability.liveview import LiveView
from count_people.observability.metrics import CounterMetrics
from count_people.observability.server import HttpServer, Response, Route


@dataclass
class CameraObservers:
    """What the hub serves of one camera."""

    metrics: CounterMetrics
    health: Health
    live: LiveView


class _Leave(FrameHook):
    """Takes a removed (or stopped) camera off the hub."""

    def __init__(self, hub: Observability, camera_id: str) -> None:
        self.hub, self.camera_id = hub, camera_id

    def close(self) -> None:
        with self.hub.lock:
            self.hub.cameras.pop(self.camera_id, None)


class _Merged(Collector):
    """Every camera's metrics as one exposition: same-named families merged (label ``camera`` tells them apart)."""

    def __init__(self, hub: Observability) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        with self.hub.lock:
            registries = [observers.metrics.registry for observers in self.hub.cameras.values()]
        families: dict[str, Metric] = {}
        for registry in registries:
            for metric in registry.collect():
                merged = families.get(metric.name)
                if merged is None:
                    merged = families[metric.name] = Metric(metric.name, metric.documentation, metric.type,
                                                            metric.unit)
                merged.samples.extend(metric.samples)
        yield from families.values()


class Observability(FrameHook):
    """The process-wide service; ``create_hooks`` is the per-camera hook factory."""

    def __init__(self, settings: Settings, notices: Callable[[], list[str]] = list) -> None:
        #: Problems to show on /healthz that do not make it fail (restarting would not fix them).
        self.notices = notices
        self.lock = threading.Lock()
        self.cameras: dict[str, CameraObservers] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Merged(self))
        self.server = HttpServer(settings, self.routes())

    def create_hooks(self, loop: LoopState) -> list[FrameHook]:
        settings = loop.settings
        grabber = GrabberStatusFile(status_path(settings.source, settings.grabber_status))
        health = Health(loop, grabber)
        influx = InfluxHook(settings)
        metrics = CounterMetrics(loop, health, grabber, influx)
        live = LiveView(settings)
        with self.lock:
            self.cameras[settings.camera_id] = CameraObservers(metrics, health, live)
        return [metrics, health, live, influx, _Leave(self, settings.camera_id)]

    def reconfigure(self, settings: Settings) -> None:
        self.server.reconfigure(settings)

    def close(self) -> None:
        self.server.close()

    # -- routes ------------------------------------------------------------------------------------

    def routes(self) -> dict[str, Route]:
        live = {path: self._live(path) for path in LiveView.PATHS}
        return {"/metrics": self._metrics, "/healthz": self._health, "/api/cameras": self._camera_list, **live}

    def _metrics(self, query: dict[str, str]) -> Response:
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)

    def _health(self, query: dict[str, str]) -> Response:
        """Healthy only if every camera is; one camera keeps today's document, with ``cameras`` and ``stale``."""
        with self.lock:
            checks = {camera_id: observers.health.check() for camera_id, observers in self.cameras.items()}
        stale = sorted(camera_id for camera_id, (_, details) in checks.items()
                       if any("frame" in reason for reason in details["reasons"]))
        healthy = all(ok for ok, _ in checks.values())
        if len(checks) == 1:
            (details,) = (details for _, details in checks.values())
        else:
            details = {"status": "ok" if healthy else "unhealthy",
                       "reasons": [f"{camera_id}: {reason}" for camera_id, (_, d) in checks.items()
                                   for reason in d["reasons"]]}
        document = {**details, "cameras": {camera_id: d for camera_id, (_, d) in checks.items()}, "stale": stale,
                    "notices": self.notices()}
        return (200 if healthy else 503), "application/json", json.dumps(document).encode()

    def _camera_list(self, query: dict[str, str]) -> Response:
        with self.lock:
            cameras = list(self.cameras)
        return 200, "application/json", json.dumps({"cameras": cameras}).encode()

    def _live(self, path: str) -> Route:
        """The live view of ``?camera=ID`` (default: the first camera)."""

        def route(query: dict[str, str]) -> Response | None:
            with self.lock:
                observers = self.cameras.get(query.get("camera", ""))
                if observers is None and "camera" not in query and self.cameras:
                    observers = next(iter(self.cameras.values()))
            if observers is None:
                return None
            return observers.live.routes()[path](query)

        return route
