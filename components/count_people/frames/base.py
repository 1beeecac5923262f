"""What a frame source yields, and the JPEG checks every source shares."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"


@dataclass(frozen=True)
class Frame:
    """A decoded BGR frame with when it was captured (epoch seconds) and how old it was when read."""

    image: np.ndarray
    capture_time: float
    age_ms: float
    index: int


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode an encoded image once; None for a truncated or corrupt file.

    libjpeg decodes a truncated JPEG into a partly grey image with only a warning, so a
    JPEG must also end with its EOI marker (encoders may pad with zero bytes after it).
    """
    if data.startswith(JPEG_SOI) and not data.rstrip(b"\x00").endswith(JPEG_EOI):
        return None
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


class FrameSource(ABC):
    """Yields frames in order; ``skipped`` counts unreadable ones."""

    def __init__(self) -> None:
        self.skipped = 0
        self.closed = threading.Event()

    @abstractmethod
    def next_frame(self, stop: threading.Event) -> Frame | None:
        """The next new frame, waiting if needed; None once exhausted, stopped or closed."""

    def close(self) -> None:
        self.closed.set()
