"""The frame file that the grabber replaces (write to temp, then rename) on a tmpfs."""

from __future__ import annotations

import logging
import os
import threading
import time

from count_people.frames.base import Frame, FrameSource, decode_image, frame_problem

log = logging.getLogger("count_people.frames")


class LatestFrameFile(FrameSource):
    """Returns each new version of one file once; an unchanged file never twice.

    A version is identified by device, inode, mtime and size, read with ``fstat`` on the
    descriptor that is then read, so the bytes and the identity always belong together
    even when the grabber renames a new file in between.
    """

    def __init__(self, path: str, poll_interval: float = 0.005, max_pixels: int | None = None) -> None:
        super().__init__()
        self.path = path
        self.poll_interval = poll_interval
        self.max_pixels = max_pixels
        self._last_identity: tuple[int, int, int, int] | None = None
        self._index = 0

    def next_frame(self, stop: threading.Event) -> Frame | None:
        waiting_logged = False
        while not (stop.is_set() or self.closed.is_set()):
            try:
                quick = os.stat(self.path)
            except FileNotFoundError:
                if not waiting_logged:
                    log.info("waiting for frame file %s", self.path)
                    waiting_logged = True
                stop.wait(self.poll_interval * 10)
                continue
            if self._identity(quick) == self._last_identity:
                stop.wait(self.poll_interval)
                continue
            read = self._read()
            if read is None:
                continue
            data, st = read
            self._last_identity = self._identity(st)
            problem = frame_problem(data, self.max_pixels)
            image = None if problem else decode_image(data)
            if image is None:
                self.skipped += 1
                if self.skipped == 1 or self.skipped % 100 == 0:
                    log.warning("skipped frame in %s: %s (%d so far)", self.path, problem or "corrupt",
                                self.skipped)
                continue
            if waiting_logged:
                log.info("frame file %s appeared", self.path)
            mtime = st.st_mtime_ns / 1e9
            self._index += 1
            return Frame(image, mtime, max(0.0, (time.time() - mtime) * 1000.0), self._index)
        return None

    def _read(self) -> tuple[bytes, os.stat_result] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            chunks = []
            while chunk := os.read(fd, max(st.st_size, 65536)):
                chunks.append(chunk)
            return b"".join(chunks), st
        finally:
            os.close(fd)

    @staticmethod
    def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
        return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size
