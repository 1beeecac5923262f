"""What every INT8 backend shares: calibration frames, the cache of quantized models, the one fallback warning.

Quantizing takes seconds to minutes, so the result is kept in ``model_cache`` (the component's
work folder by default) under a key of everything it depends on: the model and weights files'
contents, the input size and the runtime's version. A restart with the same key loads it in
seconds; any change makes a new entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from count_people.detectors.base import DetectorConfig
from count_people.errors import UserError

log = logging.getLogger("count_people.detectors.int8")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
#: How long a frame file (the grabber's) is watched for new frames to calibrate on.
FRAME_FILE_WAIT_S = 60.0



@dataclass(frozen=True)
class QuantizableConfig(DetectorConfig):
    """The keys of a backend that can run INT8: the precision, and where calibration frames and the cache are."""

    precision: str
    # Only read when an INT8 model is first made (then cached): a change reloads nothing (Part.LIVE).
    model_cache: str
    calibration_source: str
    calibration_frames: int
    source: str


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_entry(root: str, model: str, weights: str | None, input_size: object, runtime: str) -> Path:
    """The folder of one quantized model: named for people, keyed by a hash of all it depends on."""
    parts = [_file_digest(model) if Path(model).is_file() else model,
             _file_digest(weights) if weights else "pretrained", repr(input_size), runtime]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return Path(root) / f"{Path(model).stem}-int8-{key}"


def publish_entry(staging: Path, entry: Path) -> None:
    """Move a finished staging folder into place at once, so a crash never leaves a half-written entry."""
    try:
        os.replace(staging, entry)
    except OSError:  # another process finished the same entry first: keep theirs
        if not entry.is_dir():
            raise


def _evenly(items: list, count: int) -> list:
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else items[:1]


def _video_frames(capture: cv2.VideoCapture, count: int) -> list[np.ndarray]:
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    step = max(1, total // count) if total > 0 else 1
    frames, index = [], 0
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        if index % step == 0:
            frames.append(image)
        index += 1
    return frames


def _frame_file(path: Path, count: int, wait: float, stop: threading.Event | None) -> list[np.ndarray]:
    """Distinct versions of a frame file that is replaced as new frames arrive (up to ``wait`` seconds)."""
    frames, seen, deadline = [], None, time.monotonic() + wait
    while len(frames) < count and time.monotonic() < deadline and not (stop and stop.is_set()):
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp is not None and stamp != seen:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                frames.append(image)
                seen = stamp
        time.sleep(0.05)
    return frames


def calibration_images(source: str, count: int, wait: float = FRAME_FILE_WAIT_S,
                       stop: threading.Event | None = None) -> list[np.ndarray]:
    """Up to ``count`` BGR frames spread over a video or an image folder, or taken from a live frame file.

    Calibration must see what the camera sees (scene, light), so these are real frames, never
    synthetic ones.
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = [image for p in _evenly(files, count) if (image := cv2.imread(str(p), cv2.IMREAD_COLOR)) is not None]
    elif path.suffix.lower() in IMAGE_SUFFIXES:  # the grabber's frame file, which may not exist yet
        frames = _frame_file(path, count, wait, stop)
    elif path.is_file():
        capture = cv2.VideoCapture(str(path))
        frames = _video_frames(capture, count) if capture.isOpened() else []
        capture.release()
    else:
        frames = []
    if not frames:
        raise UserError(f"no calibration frames could be read from {source!r}; set calibration_source to a video, "
                        "an image folder or the grabber's frame file, or run count-people calibrate")
    log.info("calibrating INT8 on %d frame(s) from %s", len(frames), source)
    return frames


def warn_fallback(what: str, reason: str) -> None:
    """The one warning line of an INT8 model that cannot run here; the caller continues in FP32."""
    log.warning("%s: INT8 is not available here (%s); running FP32", what, reason.strip().splitlines()[0][:300]
                if reason.strip() else "unknown reason")

