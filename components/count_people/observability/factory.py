"""Builds the observability hooks of a counting loop: metrics, health, live view, InfluxDB, and their HTTP server.

All are created whatever the settings say (each costs microseconds per frame when idle), so
turning the HTTP port, live view or InfluxDB on by a live configuration update just works.
"""

from __future__ import annotations

from count_people.hooks import FrameHook, LoopState
from count_people.observability.grabber import GrabberStatusFile, status_path
from count_people.observability.health import Health
from count_people.observability.influx import InfluxHook
from count_people.observability.liveview import LiveView
from count_people.observability.metrics import CounterMetrics
from count_people.observability.server import HttpServer


def create_observability_hooks(loop: LoopState) -> list[FrameHook]:
    """The hooks of this feature (a ``HookFactory``); the HTTP server starts at once if a port is set."""
    settings = loop.settings
    grabber = GrabberStatusFile(status_path(settings.source, settings.grabber_status))
    health = Health(loop, grabber)
    influx = InfluxHook(settings)
    metrics = CounterMetrics(loop, health, grabber, influx)
    live = LiveView(settings)
    server = HttpServer(settings, {"/metrics": metrics.route, "/healthz": health.route, **live.routes()})
    return [metrics, health, live, influx, server]
