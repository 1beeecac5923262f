"""Prometheus metrics of the counting loop, served at ``/metrics``.

Per-frame values (detections, counts, latencies) are recorded in ``observe`` with a few
dictionary updates; everything the CountingLoop already keeps (frames, publisher and source
counters, model load time, the grabber's status file) is read only when Prometheus scrapes.
Each CountingLoop gets its own registry, so several can run in one process (tests) without clashes.

Lines and zones (tracking feature) are exported when messages carry them (shapes in
``observability.regions``): crossing totals per line, class and direction, occupancy per zone; and of the
analytics feature: area occupancy and clamped exits, completed visits per zone (a histogram in the
``dwell_buckets``) and its longest current visit, threshold events raised and cleared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook, LoopState
from count_people.observability import regions
from count_people.observability.grabber import GRABBER_STATES, GrabberStatusFile
from count_people.observability.health import Health

if TYPE_CHECKING:
    from count_people.observability.influx import InfluxHook
    from count_people.observability.server import Response

# The *_created series only double the exposition size; nothing here reads them.
disable_created_metrics()

PREFIX = "people_counter"
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CounterMetrics(FrameHook):
    """Registers the counter's metrics and records each observed frame."""

    def __init__(self, counter: LoopState, health: Health, grabber: GrabberStatusFile | None = None,
                 influx: InfluxHook | None = None) -> None:
        self.registry = CollectorRegistry()
        self.counter = counter
        self.health = health
        self.grabber = grabber
        self.influx = influx
        self.latest: dict[str, Any] = {}
        self.detections = Counter(f"{PREFIX}_detections", "Detections of counted classes (above threshold)",
                                  ["camera", "class"], registry=self.registry)
        self.count = Gauge(f"{PREFIX}_count", "Objects of each class in the latest frame",
                           ["camera", "class"], registry=self.registry)
        self.inference = Histogram(f"{PREFIX}_inference_seconds", "Detector time per frame",
                                   ["camera"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.end_to_end = Histogram(f"{PREFIX}_end_to_end_seconds",
                                    "Frame capture (file write) to message handed to the publisher",
                                    ["camera"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.last_frame = Gauge(f"{PREFIX}_last_frame_timestamp_seconds", "Capture time of the last processed frame",
                                ["camera"], registry=self.registry)
        self.fps = Gauge(f"{PREFIX}_fps", "Frames processed per second (10 s window)", ["camera"],
                         registry=self.registry)
        self.events = Counter(f"{PREFIX}_events", "Threshold events (analytics) raised and cleared",
                              ["camera", "region", "name", "rule", "state"], registry=self.registry)
        self.dwell = Histogram(f"{PREFIX}_dwell_seconds", "Durations of completed visits per zone", ["camera", "zone"],
                               buckets=counter.settings.dwell_buckets, registry=self.registry)
        self.registry.register(_LiveCollector(self))

    def observe(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        camera = message["camera_id"]
        for det in detections:
            self.detections.labels(camera, det.label).inc()
        for label, n in message["counts"].items():
            self.count.labels(camera, label).set(n)
        self.inference.labels(camera).observe(message["inference_ms"] / 1000.0)
        self.end_to_end.labels(camera).observe(max(0.0, time.time() - frame.capture_time))
        self.last_frame.labels(camera).set(frame.capture_time)
        self.fps.labels(camera).set(message["fps"])
        for zone, _, completed in regions.zone_dwell(message):
            for seconds in completed:
                self.dwell.labels(camera, zone).observe(seconds)
        for event in regions.events(message):
            self.events.labels(camera, *(str(event.get(k, "")) for k in ("region", "name", "rule", "state"))).inc()
        self.latest = message

    def route(self, query: dict[str, str]) -> Response:
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)


class _LiveCollector(Collector):
    """Values the CountingLoop, its publisher and the grabber already keep, read at scrape time."""

    def __init__(self, metrics: CounterMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        counter = self.metrics.counter
        camera = counter.settings.camera_id
        yield from (
            _single(CounterMetricFamily, f"{PREFIX}_frames_processed", "Frames detected and published",
                    camera, counter.frames_processed),
            _single(CounterMetricFamily, f"{PREFIX}_frames_skipped", "Corrupt or truncated frames skipped",
                    camera, counter.source.skipped),
            _single(CounterMetricFamily, f"{PREFIX}_frames_overtaken",
                    "Frames replaced by a newer one before the shared detector got to them", camera,
                    counter.frames_overtaken),
        )
        stats, publisher = counter.publisher.stats, counter.publisher
        for name, value, text in (("messages_published", stats.sent, "Messages delivered by the publisher"),
                                  ("publish_failures", stats.failed, "Failed publish attempts"),
                                  ("messages_dropped", stats.dropped, "Messages dropped (queue full or shutdown)")):
            yield _single(CounterMetricFamily, f"{PREFIX}_{name}", text, camera, value)
        yield _single(GaugeMetricFamily, f"{PREFIX}_publisher_up", "1 while the publisher can deliver",
                      camera, int(publisher.healthy))
        yield _single(GaugeMetricFamily, f"{PREFIX}_healthy", "1 while /healthz reports ok",
                      camera, int(self.metrics.health.check()[0]))
        model = GaugeMetricFamily(f"{PREFIX}_model_load_seconds", "Time the detector took to load",
                                  labels=["camera", "model"])
        model.add_metric([camera, counter.detector.name], counter.detector.load_seconds)
        yield model
        yield from self._precision(camera, counter.detector)
        yield from self._lines_and_zones(camera, self.metrics.latest)
        yield from self._grabber(camera)
        yield from self._influx(camera)

    @staticmethod
    def _precision(camera: str, detector: Any) -> Iterator[Metric]:
        """The arithmetic running now and, with ``precision: auto``, what was measured to choose it."""
        running = GaugeMetricFamily(f"{PREFIX}_precision", "1 for the arithmetic the detector runs in",
                                    labels=["camera", "model", "precision"])
        running.add_metric([camera, detector.name, getattr(detector, "precision", "fp32")], 1)
        yield running
        choice = getattr(detector, "precision_choice", None)  # Detector's attributes; a stand-in may lack them
        if choice is None or choice.speedup is None:
            return
        speedup = GaugeMetricFamily(f"{PREFIX}_int8_speedup", "Measured FP32 time over INT8 time per frame on this "
                                    "CPU (precision auto)", labels=["camera", "model", "cpu", "chosen"])
        speedup.add_metric([camera, detector.name, choice.cpu, choice.precision], choice.speedup)
        yield speedup
        agreement = GaugeMetricFamily(f"{PREFIX}_int8_agreement", "F1 of INT8's boxes against FP32's on the probe "
                                      "frames (precision auto)", labels=["camera", "model"])
        agreement.add_metric([camera, detector.name], choice.agreement)
        yield agreement

    @staticmethod
    def _lines_and_zones(camera: str, message: dict[str, Any]) -> Iterator[Metric]:
        crossings = list(regions.line_totals(message))
        if crossings:
            family = CounterMetricFamily(f"{PREFIX}_line_crossings", "Line crossings since the totals were reset",
                                         labels=["camera", "line", "class", "direction"])
            for line, label, direction, n in crossings:
                family.add_metric([camera, line, label, direction], n)
            yield family
        occupancy = list(regions.zone_occupancy(message))
        if occupancy:
            family = GaugeMetricFamily(f"{PREFIX}_zone_occupancy", "Objects inside each zone",
                                       labels=["camera", "zone", "class"])
            for zone, label, n in occupancy:
                family.add_metric([camera, zone, label], n)
            yield family
        longest = [(zone, seconds) for zone, seconds, _ in regions.zone_dwell(message)]
        if longest:
            family = GaugeMetricFamily(f"{PREFIX}_zone_longest_visit_seconds", "The longest visit going on per zone",
                                       labels=["camera", "zone"])
            for zone, seconds in longest:
                family.add_metric([camera, zone], seconds)
            yield family
        for field, kind, text in (("occupancy", GaugeMetricFamily, "Objects inside each area (counted at its doors)"),
                                  ("clamped", CounterMetricFamily, "Exits that would have taken an area below 0 "
                                   "(missed entries) since its reset")):
            values = list(regions.area_counts(message, field))
            if values:
                family = kind(f"{PREFIX}_area_{field}", text, labels=["camera", "area", "class"])
                for area, label, n in values:
                    family.add_metric([camera, area, label], n)
                yield family

    def _grabber(self, camera: str) -> Iterator[Metric]:
        status = self.metrics.grabber.read() if self.metrics.grabber else None
        yield _single(GaugeMetricFamily, f"{PREFIX}_grabber_status_present",
                      "1 while the grabber's status file is readable", camera, int(status is not None))
        if status is None:
            return
        now = time.time()
        if isinstance(status.get("updated_unix"), (int, float)):
            yield _single(GaugeMetricFamily, f"{PREFIX}_grabber_status_age_seconds",
                          "Seconds since the grabber last wrote its status", camera, now - status["updated_unix"])
        if isinstance(status.get("last_frame_unix"), (int, float)):
            yield _single(GaugeMetricFamily, f"{PREFIX}_grabber_last_frame_timestamp_seconds",
                          "When the grabber last wrote a frame", camera, status["last_frame_unix"])
        yield _single(CounterMetricFamily, f"{PREFIX}_grabber_restarts", "Pipeline restarts of the grabber",
                      camera, float(status.get("restarts") or 0))
        state = GaugeMetricFamily(f"{PREFIX}_grabber_state", "1 for the grabber's current state",
                                  labels=["camera", "state"])
        for name in GRABBER_STATES:
            state.add_metric([camera, name], int(status.get("state") == name))
        yield state


    def _influx(self, camera: str) -> Iterator[Metric]:
        writer = self.metrics.influx.writer if self.metrics.influx else None
        if writer is None:
            return
        for name, value, text in (("influx_points_written", writer.stats.written, "Points InfluxDB accepted"),
                                  ("influx_points_dropped", writer.stats.dropped, "Points lost"),
                                  ("influx_write_failures", writer.stats.failures, "Failed InfluxDB write requests")):
            yield _single(CounterMetricFamily, f"{PREFIX}_{name}", text, camera, value)
        yield _single(GaugeMetricFamily, f"{PREFIX}_influx_up", "1 while the last InfluxDB write succeeded",
                      camera, int(writer.healthy))


def _single(kind: type, name: str, text: str, camera: str, value: float) -> Metric:
    family = kind(name, text, labels=["camera"])
    family.add_metric([camera], value)
    return family

