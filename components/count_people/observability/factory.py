"""Builds the observability hooks of a Counter: metrics, health, live view, InfluxDB, and their HTTP server.

All are created whatever the settings say (each costs microseconds per frame when idle), so
turning the HTTP port, live view or InfluxDB on by a live configuration update just works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from count_people.hooks import FrameHook

if TYPE_CHECKING:
    from count_people.app import Counter


def create_hooks(counter: Counter) -> list[FrameHook]:
    """The hooks to append to ``counter.hooks``; the HTTP server starts at once if a port is set."""
    from count_people.liveview.view import LiveView
    from count_people.monitoring.grabber import GrabberStatusFile, status_path
    from count_people.monitoring.health import Health
    from count_people.monitoring.metrics import CounterMetrics
    from count_people.monitoring.server import HttpServer
    from count_people.timeseries.influx import InfluxHook

    settings = counter.settings
    grabber = GrabberStatusFile(status_path(settings.source, settings.grabber_status))
    health = Health(counter, grabber)
    influx = InfluxHook(settings)
    metrics = CounterMetrics(counter, health, grabber, influx)
    live = LiveView(settings)
    server = HttpServer(settings, {"/metrics": metrics.route, "/healthz": health.route, **live.routes()})
    return [metrics, health, live, influx, server]
