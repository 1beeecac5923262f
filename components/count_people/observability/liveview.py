"""The live view hook: keeps a reference to the latest frame and message, draws only when asked.

The detection thread only stores three references and updates a one-second history bucket;
hiding people (``privacy.py``), drawing and JPEG encoding happen on the HTTP thread, at most once per
frame however many viewers poll (the encoded result is cached until the next frame).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import cv2

from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.hooks import FrameHook
from count_people.observability.draw import annotate
from count_people.observability.privacy import privacy_mode, protect

if TYPE_CHECKING:
    from count_people.observability.server import Response, Route

PAGE = Path(__file__).with_name("static") / "index.html"
#: Seconds of count history the chart can show (one averaged point per second).
HISTORY_SECONDS = 600
STATE_KEYS = ("camera_id", "label", "count", "counts", "fps", "inference_ms", "frame_age_ms", "capture_time",
              "frame_size", "model", "lines", "zones", "areas")


class LiveView(FrameHook):
    """Latest annotated frame, count and history for ``/``, ``/frame.jpg`` and ``/api/state``."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.live_view
        self.privacy = privacy_mode(settings)
        self._latest: tuple[Frame, Sequence[Detection], dict[str, Any]] | None = None
        self._jpeg: tuple[int, bytes] | None = None  # (frame index, encoded annotated frame)
        self._encode_lock = threading.Lock()
        self._history: collections.deque[tuple[int, float]] = collections.deque(maxlen=HISTORY_SECONDS)
        self._bucket: tuple[int, float, int] | None = None  # (second, sum of counts, frames)

    def observe(self, frame: Frame, detections: Sequence[Detection], message: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._latest = (frame, detections, message)
        second = int(message["capture_time"])
        if self._bucket and self._bucket[0] == second:
            self._bucket = (second, self._bucket[1] + message["count"], self._bucket[2] + 1)
        else:
            if self._bucket:
                self._history.append((self._bucket[0], round(self._bucket[1] / self._bucket[2], 2)))
            self._bucket = (second, message["count"], 1)

    def reconfigure(self, settings: Settings) -> None:
        self.enabled = settings.live_view
        with self._encode_lock:  # never serve a frame encoded under the old mode
            if privacy_mode(settings) != self.privacy:
                self.privacy, self._jpeg = privacy_mode(settings), None
        if not self.enabled:
            self._latest, self._jpeg = None, None

    #: What the live view serves; the hub picks the camera by ``?camera=ID``.
    PATHS = ("/", "/index.html", "/frame.jpg", "/api/state")

    def routes(self) -> dict[str, Route]:
        return dict(zip(self.PATHS, (self._page, self._page, self._frame, self._state)))

    def frame_jpeg(self) -> bytes | None:
        """The latest frame annotated and encoded, drawn once per frame (cached for other viewers)."""
        latest = self._latest
        if latest is None:
            return None
        frame, detections, message = latest
        with self._encode_lock:
            if self._jpeg is None or self._jpeg[0] != frame.index:
                image = annotate(protect(frame.image, detections, self.privacy), message)
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
                if not ok:
                    return None
                self._jpeg = (frame.index, data.tobytes())
            return self._jpeg[1]

    def state(self) -> dict[str, Any]:
        latest = self._latest
        state: dict[str, Any] = {"frame_index": None}
        if latest is not None:
            frame, _, message = latest
            state.update({key: message.get(key) for key in STATE_KEYS}, frame_index=frame.index)
        history = list(self._history)
        if self._bucket:
            history.append((self._bucket[0], round(self._bucket[1] / self._bucket[2], 2)))
        state["history"] = history
        state["now"] = time.time()
        return state

    def _page(self, query: dict[str, str]) -> Response | None:
        return (200, "text/html; charset=utf-8", PAGE.read_bytes()) if self.enabled else None

    def _frame(self, query: dict[str, str]) -> Response | None:
        if not self.enabled:
            return None
        data = self.frame_jpeg()
        return (200, "image/jpeg", data) if data else (503, "text/plain", b"no frame yet\n")

    def _state(self, query: dict[str, str]) -> Response | None:
        return (200, "application/json", json.dumps(self.state()).encode()) if self.enabled else None
