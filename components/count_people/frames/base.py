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


#: Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the image size.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encoded_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG or PNG header without decoding; None when the header does not say."""
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(JPEG_SOI):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        if marker in _JPEG_SOF and at + 9 <= len(data):
            return int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
        if marker == 0xDA:  # scan data before any frame header
            return None
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None


def frame_problem(data: bytes, max_pixels: int | None = None) -> str | None:
    """Why ``data`` must not be decoded (empty, truncated, or a header claiming over ``max_pixels``), or None.

    libjpeg decodes a truncated JPEG into a partly grey image with only a warning, so a JPEG must
    also end with its EOI marker (encoders may pad with zero bytes after it). The size check reads
    the header only: decoding a 30000x30000 claim would take seconds and gigabytes first.
    """
    if not data:
        return "empty file"
    if data.startswith(JPEG_SOI) and not data.rstrip(b"\x00").endswith(JPEG_EOI):
        return "truncated JPEG"
    size = encoded_size(data) if max_pixels is not None else None
    if size is not None and size[0] * size[1] > max_pixels:
        return f"{size[0]}x{size[1]} is over max_frame_pixels {max_pixels}"
    return None


def decode_image(data: bytes, max_pixels: int | None = None) -> np.ndarray | None:
    """Decode an encoded image once; None for an empty, truncated, oversized or corrupt file."""
    if frame_problem(data, max_pixels):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


class FrameSource(ABC):
    """Yields frames in order; ``skipped`` counts unreadable ones."""

    #: A live source (the grabber's file) only matters at its latest frame, so a newer one replaces a waiting
    #: one; an offline source (video file, image folder) waits until each frame was processed.
    live = True

    def __init__(self) -> None:
        self.skipped = 0
        self.closed = threading.Event()

    @abstractmethod
    def next_frame(self, stop: threading.Event) -> Frame | None:
        """The next new frame, waiting if needed; None once exhausted, stopped or closed."""

    def close(self) -> None:
        self.closed.set()
