"""Video files and folders of images, processed frame by frame for local runs and evaluation."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2

from count_people.errors import UserError
from count_people.frames.base import Frame, FrameSource, decode_image, frame_problem

log = logging.getLogger("count_people.frames")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}


class VideoFile(FrameSource):
    """Every frame of a video file, in order; ``index`` counts from 0."""

    live = False

    def __init__(self, path: str) -> None:
        super().__init__()
        self.capture = cv2.VideoCapture(path)
        if not self.capture.isOpened():
            raise UserError(f"cannot open video file {path!r}; check the path and that it is a video")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 0.0
        self._index = 0
        self._opened = time.time()

    def next_frame(self, stop: threading.Event) -> Frame | None:
        if stop.is_set() or self.closed.is_set():
            return None
        ok, image = self.capture.read()
        if not ok:
            return None
        # A recorded frame was captured at its place in the video: the tracker predicts over that interval,
        # not over however long decoding and detection took (faster or slower than real time).
        captured = self._opened + self._index / self.fps if self.fps > 0 else time.time()
        frame = Frame(image, captured, 0.0, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        super().close()
        self.capture.release()


class ImageFolder(FrameSource):
    """Every image of a folder, in name order; unreadable files are skipped and counted."""

    live = False

    def __init__(self, path: str, max_pixels: int | None = None) -> None:
        super().__init__()
        self.max_pixels = max_pixels
        self.files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise UserError(f"folder {path!r} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._next = 0

    def next_frame(self, stop: threading.Event) -> Frame | None:
        while self._next < len(self.files) and not (stop.is_set() or self.closed.is_set()):
            path = self.files[self._next]
            index = self._next
            self._next += 1
            try:
                data = path.read_bytes()
            except OSError as exc:  # removed or replaced by a folder since the listing
                data, problem = b"", exc.strerror
            else:
                problem = frame_problem(data, self.max_pixels)
            image = None if problem else decode_image(data)
            if image is None:
                self.skipped += 1
                log.warning("skipped unreadable image %s: %s", path, problem or "corrupt")
                continue
            return Frame(image, time.time(), 0.0, index)
        return None
