"""One camera's counting loop: latest frame -> detector -> message -> publisher, reconfigurable live."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from count_people.cadence import create_cadence
from count_people.comms import create_publisher
from count_people.comms.base import Publisher
from count_people.config import Part, Settings
from count_people.detectors import Detector, create_detector, detector_config
from count_people.frames import Frame, FrameSource, open_source
from count_people.hooks import FrameHook
from count_people.message import build_message, encode_message
from count_people.stats import FpsWindow, StatsLine

log = logging.getLogger("count_people")


@dataclass
class FrameTiming:
    """Where one frame's time went, in milliseconds."""

    inference_ms: float = 0.0
    publish_ms: float = 0.0


class CountingLoop:
    """One camera: owns its source, publisher, cadence and hooks, and a detector (its own, or a retuned view of
    the one model that several cameras share, see ``scheduler.py``); ``reconfigure`` swaps them between frames."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: FrameSource | None = None,
        detector: Detector | None = None,
        publisher: Publisher | None = None,
        hooks: list[FrameHook] | None = None,
    ) -> None:
        self.settings = settings
        self.hooks = hooks or []
        self.detector = detector or self.load_detector(settings)
        self.source = source or open_source(settings)
        self.publisher = publisher or create_publisher(settings)
        self.cadence = create_cadence(settings)
        self.fps = FpsWindow()
        self.stats_line = StatsLine(settings.stats_interval)
        self.frames_processed = 0
        #: Frames replaced by a newer one while waiting for the shared detector (set by the scheduler).
        self.frames_overtaken = 0
        self.last_timing = FrameTiming()
        #: Held while a frame is processed and while settings are swapped, so neither sees half of the other.
        self.lock = threading.Lock()

    @staticmethod
    def load_detector(settings: Settings) -> Detector:
        detector = create_detector(settings)
        started = time.monotonic()
        detector.load()
        detector.check_classes(settings.classes)
        detector.load_seconds = time.monotonic() - started
        log.info("loaded %s detector %s in %.1f s", settings.detector, detector.name, detector.load_seconds)
        return detector

    def reconfigure(self, new: Settings, detector: Detector | None = None) -> set[str]:
        """Apply new settings without a restart; raises UserError (old settings stay) if invalid.

        Threshold, classes, topic, rate and the like apply from the next frame; a new model
        is loaded beside the running one and swapped in only once it loaded. ``detector``: the
        caller's (the scheduler's shared model, already checked), instead of this camera deciding.
        """
        changed = self.settings.changed_keys(new)
        if not changed and detector is None:
            return changed
        parts = self.settings.changed_parts(new)
        if detector is None:
            config = detector_config(new)
            if Part.MODEL in parts:
                detector = self.load_detector(new)
            else:
                detector = self.detector.retuned(config)
                detector.check_classes(new.classes)
        for hook in self.hooks:
            hook.reconfigure(new)
        source = open_source(new) if Part.SOURCE in parts else None
        publisher = create_publisher(new) if Part.PUBLISHER in parts else None
        with self.lock:
            old_source, old_publisher = self.source, self.publisher
            self.settings, self.detector = new, detector
            self.stats_line.interval = new.stats_interval
            if source is not None:
                self.source = source
                old_source.close()
            if publisher is not None:
                self.publisher = publisher
            if Part.CADENCE in parts:
                self.cadence = create_cadence(new)
        if publisher is not None:
            threading.Thread(target=old_publisher.close, daemon=True).start()
        if changed:
            log.info("%s: configuration updated: %s", new.camera_id, ", ".join(sorted(changed)))
        return changed

    def run(self, stop: threading.Event) -> int:
        """Process frames until ``stop`` is set or an offline source ends; then flush."""
        next_due = 0.0
        while not stop.is_set():
            delay = next_due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            source = self.source
            frame = source.next_frame(stop)
            if frame is None:
                if source is self.source:  # exhausted or stopped, not swapped by reconfigure
                    break
                continue
            started = time.monotonic()
            with self.lock:
                self.process(frame)
            if self.settings.max_fps > 0:
                next_due = started + 1.0 / self.settings.max_fps
            self.maybe_log_stats()
        self.close()
        return 0

    def close(self) -> None:
        """Stop reading, publish what the cadence still owes, flush the publisher (2 s at most), close hooks."""
        self.source.close()
        self._publish(self.cadence.flush(time.monotonic()))
        self.publisher.close(timeout=2.0)
        for hook in self.hooks:
            hook.close()
        self._log_stats(time.monotonic())

    def process(self, frame: Frame) -> dict:
        """Detect, build and publish the message of one frame; returns the message."""
        settings = self.settings
        started = time.perf_counter()
        detections = self.detector.detect(frame.image)
        inference_done = time.perf_counter()
        height, width = frame.image.shape[:2]
        message = build_message(
            camera_id=settings.camera_id,
            thing_name=settings.thing_name,
            classes=settings.classes,
            detections=detections,
            frame_size=(width, height),
            capture_time=frame.capture_time,
            publish_time=time.time(),
            fps=self.fps.tick(),
            inference_ms=(inference_done - started) * 1000.0,
            frame_age_ms=frame.age_ms,
            model=self.detector.name,
            max_boxes=settings.max_boxes,
        )
        dropped = self.publisher.stats.dropped
        if dropped:  # an outage overflowed the queue: say so in what gets through
            message["dropped"] = dropped
        for hook in self.hooks:
            hook.annotate(frame, detections, message)
        self._publish(self.cadence.offer(message, time.monotonic()))
        self.last_timing = FrameTiming(
            (inference_done - started) * 1000.0, (time.perf_counter() - inference_done) * 1000.0
        )
        self.frames_processed += 1
        self.stats_line.add(message["count"], message["inference_ms"], frame.age_ms)
        for hook in self.hooks:
            hook.observe(frame, detections, message)
        return message

    def _publish(self, messages: list[dict]) -> None:
        settings = self.settings
        topic = settings.topic.format(thing=settings.thing_name, camera=settings.camera_id)
        for message in messages:
            self.publisher.publish(topic, encode_message(message))

    def maybe_log_stats(self) -> None:
        now = time.monotonic()
        if self.stats_line.due(now):
            self._log_stats(now)

    def _log_stats(self, now: float) -> None:
        publish = self.publisher.stats
        extra = (f", corrupt frames {self.source.skipped}, overtaken {self.frames_overtaken}, sent {publish.sent},"
                 f" failed {publish.failed}, dropped {publish.dropped}")
        log.info("%s: %s", self.settings.camera_id, self.stats_line.render(now, self.settings.classes[0], extra))
