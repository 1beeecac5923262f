"""Several cameras, one model: a reader thread per camera keeps its freshest frame, one detection thread
takes them in turn.

Fairness: of the cameras that have a new frame and are due (``max_fps``), the one processed longest ago
goes first, so a 30 fps camera cannot starve a 1 fps one. A frame replaced by a newer one before the
detector got to it is counted as overtaken per camera, and one warning line per ``stats_interval``
names the cameras the detector could not keep up with. Decoding happens in the reader threads, beside
the forward pass of another frame. Cameras are added, removed or changed by ``reconfigure`` without
touching the others (their tracks and line totals go on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from count_people.config import Part, Settings
from count_people.detectors import Detector, detector_config
from count_people.detectors.precision import measure
from count_people.errors import UserError
from count_people.frames import Frame
from count_people.hooks import FrameHook, HookFactory
from count_people.loop.camera import CountingLoop

log = logging.getLogger("count_people")


@dataclass(eq=False)
class CameraSlot:
    """One camera's loop, its freshest unprocessed frame and when it may be processed next."""

    loop: CountingLoop
    stop: threading.Event = field(default_factory=threading.Event)
    frame: Frame | None = None
    next_due: float = 0.0
    last_processed: float = float("-inf")
    overtaken_reported: int = 0
    reader: threading.Thread | None = None
    finished: bool = False  # an offline source ended


class MultiCameraLoop:
    """The counter process: one loaded detector shared by every camera of ``settings.camera_settings()``.

    ``hook_factories`` build each camera's hooks (also for a camera added later); ``services`` are
    process-wide hooks (the HTTP server) that only follow reconfiguration and close at the end.
    """

    def __init__(self, settings: Settings, hook_factories: Sequence[HookFactory] = (),
                 services: Sequence[FrameHook] = ()) -> None:
        self.settings = settings
        self.hook_factories = tuple(hook_factories)
        self.services = list(services)
        self.detector = CountingLoop.load_detector(settings)
        self.slots: dict[str, CameraSlot] = {}
        self._cond = threading.Condition()
        self._reconfiguring = threading.Lock()
        #: Held per frame, and by precision auto's few seconds of timing (the counting pauses for them).
        self._probing = threading.Lock()
        self._running = False
        self._warned_at = time.monotonic()
        for camera in settings.camera_settings():
            self._add(camera, self._view(camera, self.detector))
        if settings.precision == "auto":
            threading.Thread(target=self._choose_precision, args=(settings, self.detector), daemon=True,
                             name="precision-auto").start()

    def _choose_precision(self, settings: Settings, fp32: Detector) -> None:
        """``precision: auto`` in the background: count on in FP32 meanwhile, then switch to what was measured."""
        started = time.monotonic()
        try:
            int8, choice = measure(settings, fp32, self._probing)
        except (UserError, OSError, RuntimeError, ValueError) as exc:
            log.warning("precision auto: could not measure INT8 (%s); staying on FP32", exc)
            return
        chosen = int8 or fp32
        chosen.precision_choice = choice
        speedup = f"INT8 {choice.speedup:.2f}x FP32 ({choice.int8_ms:.1f} vs {choice.fp32_ms:.1f} ms/frame, " \
                  f"agreement F1 {choice.agreement:.2f})" if choice.speedup else "INT8 not measured"
        log.info("precision auto: %s on %s: %s; %s (%.1f s)", choice.precision.upper(), choice.cpu, choice.reason,
                 speedup, time.monotonic() - started)
        with self._reconfiguring:
            if self.detector is not fp32:  # reconfigured meanwhile: that load decides again
                return
            for slot in self.slots.values():
                slot.loop.reconfigure(slot.loop.settings, detector=self._view(slot.loop.settings, chosen))
            self.detector = chosen

    def _view(self, camera: Settings, detector: Detector) -> Detector:
        """The shared model with this camera's threshold and classes (a retuned copy, no second load)."""
        view = detector.retuned(detector_config(camera))
        view.check_classes(camera.classes)
        return view

    def _add(self, camera: Settings, view: Detector) -> None:
        """Start counting one camera with its view of the shared model (``_view``)."""
        loop = CountingLoop(camera, detector=view)
        for factory in self.hook_factories:
            loop.hooks.extend(factory(loop))
        slot = CameraSlot(loop)
        with self._cond:
            self.slots[camera.camera_id] = slot
        if self._running:
            self._start_reader(slot)
        log.info("camera %s: counting frames from %s", camera.camera_id, camera.source)

    def _remove(self, camera_id: str) -> None:
        with self._cond:
            slot = self.slots.pop(camera_id)
            slot.stop.set()
            self._cond.notify_all()
        with slot.loop.lock:  # not in the middle of its frame
            slot.loop.close()
        log.info("camera %s: removed", camera_id)

    # -- configuration -----------------------------------------------------------------------------

    def reconfigure(self, new: Settings) -> set[str]:
        """Apply new settings without a restart; raises UserError (nothing changes) if invalid.

        A change of the model reloads it once, beside the running one; cameras are matched by id:
        new ones start, missing ones stop, the rest are reconfigured in place.
        """
        with self._reconfiguring:
            changed = self.settings.changed_keys(new)
            if not changed:
                return changed
            cameras = {camera.camera_id: camera for camera in new.camera_settings()}
            detector = self.detector
            if Part.MODEL in self.settings.changed_parts(new):
                detector = CountingLoop.load_detector(new)
                if new.precision == "auto":
                    threading.Thread(target=self._choose_precision, args=(new, detector), daemon=True,
                                     name="precision-auto").start()
            views = {camera_id: self._view(camera, detector) for camera_id, camera in cameras.items()}  # checks classes
            for camera_id in [c for c in self.slots if c not in cameras]:
                self._remove(camera_id)
            for camera_id, camera in cameras.items():
                if camera_id in self.slots:
                    self.slots[camera_id].loop.reconfigure(camera, detector=views[camera_id])
                else:
                    self._add(camera, views[camera_id])
            for service in self.services:
                service.reconfigure(new)
            self.settings, self.detector = new, detector
            with self._cond:
                self._cond.notify_all()
            return changed

    # -- running -----------------------------------------------------------------------------------

    def _start_reader(self, slot: CameraSlot) -> None:
        slot.reader = threading.Thread(target=self._read, args=(slot,), daemon=True,
                                       name=f"reader:{slot.loop.settings.camera_id}")
        slot.reader.start()

    def _read(self, slot: CameraSlot) -> None:
        """Keep the freshest decoded frame of one camera in its slot."""
        while not slot.stop.is_set():
            source = slot.loop.source
            frame = source.next_frame(slot.stop)
            if frame is None:
                if source is slot.loop.source and not slot.stop.is_set():  # an offline source ended
                    break
                continue
            with self._cond:
                if not source.live:  # every frame of a video or folder counts: wait for the last one to go
                    self._cond.wait_for(lambda: slot.frame is None or slot.stop.is_set())
                elif slot.frame is not None and time.monotonic() >= slot.next_due:
                    slot.loop.frames_overtaken += 1
                slot.frame = frame
                self._cond.notify_all()
        with self._cond:
            slot.finished = True
            self._cond.notify_all()

    def _next(self, stop: threading.Event) -> tuple[CameraSlot, Frame] | None:
        """The due camera processed longest ago, with its frame; None when stopping or every source ended."""
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                ready = [s for s in self.slots.values() if s.frame is not None and now >= s.next_due]
                if ready:
                    slot = min(ready, key=lambda s: s.last_processed)
                    frame, slot.frame = slot.frame, None
                    self._cond.notify_all()  # an offline reader waits for its slot to empty
                    return slot, frame
                if self.slots and all(s.finished and s.frame is None for s in self.slots.values()):
                    return None
                waiting = [s.next_due - now for s in self.slots.values() if s.frame is not None]
                self._cond.wait(min([0.5, *waiting]))
            return None

    def run(self, stop: threading.Event) -> int:
        """Process frames until ``stop`` is set or every offline source ended; then flush every camera."""
        self._running = True
        for slot in list(self.slots.values()):
            self._start_reader(slot)
        try:
            while (picked := self._next(stop)) is not None:
                slot, frame = picked
                started = time.monotonic()
                loop = slot.loop
                with self._probing, loop.lock:
                    loop.process(frame)
                slot.last_processed = started
                slot.next_due = started + 1.0 / loop.settings.max_fps if loop.settings.max_fps > 0 else 0.0
                loop.maybe_log_stats()
                self._warn_if_behind()
        finally:
            self._running = False
            with self._cond:
                for slot in self.slots.values():
                    slot.stop.set()
                self._cond.notify_all()
            for slot in list(self.slots.values()):
                if slot.reader is not None:
                    slot.reader.join(2.0)
                slot.loop.close()
            for service in self.services:
                service.close()
        return 0

    def _warn_if_behind(self) -> None:
        """One line per stats interval naming the cameras whose frames the detector could not keep up with."""
        interval = self.settings.stats_interval
        now = time.monotonic()
        if interval <= 0 or now - self._warned_at < interval:
            return
        self._warned_at = now
        behind = []
        for camera_id, slot in self.slots.items():
            overtaken = slot.loop.frames_overtaken - slot.overtaken_reported
            slot.overtaken_reported = slot.loop.frames_overtaken
            if overtaken:
                behind.append(f"{camera_id} {slot.loop.fps.rate(now):.1f} fps ({overtaken} frames overtaken)")
        if behind:
            log.warning("the detector cannot keep up with every camera in the last %.0f s: %s", interval,
                        ", ".join(behind))
