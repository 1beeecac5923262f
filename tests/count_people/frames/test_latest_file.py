"""The frame file source: new, unchanged, missing, corrupt and replaced frames."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from count_people.frames import LatestFrameFile, decode_image
from support import jpeg_bytes, replace_frame


@pytest.fixture
def stop():
    return threading.Event()


def next_within(source: LatestFrameFile, seconds: float):
    """next_frame, but give up (returning None) after ``seconds``."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return source.next_frame(stop)
    finally:
        timer.cancel()


def test_new_frame_is_returned_once(tmp_path, frame_bgr):
    path = tmp_path / "frame.jpg"
    replace_frame(path, jpeg_bytes(frame_bgr))
    source = LatestFrameFile(str(path))
    frame = next_within(source, 2)
    assert frame is not None and frame.image.shape == (480, 640, 3)
    assert next_within(source, 0.3) is None, "an unchanged file must not be processed twice"


def test_each_replacement_is_a_new_frame(tmp_path, frame_bgr):
    path = tmp_path / "frame.jpg"
    source = LatestFrameFile(str(path))
    for quality in range(60, 80):
        replace_frame(path, jpeg_bytes(frame_bgr, quality))
        assert next_within(source, 2) is not None
    assert next_within(source, 0.2) is None


def test_rewrite_in_place_with_new_mtime_is_new(tmp_path, frame_bgr):
    path = tmp_path / "frame.jpg"
    data = jpeg_bytes(frame_bgr)
    path.write_bytes(data)
    source = LatestFrameFile(str(path))
    assert next_within(source, 2) is not None
    later = time.time() + 5
    os.utime(path, (later, later))  # same inode and size, new modification time
    assert next_within(source, 2) is not None


def test_missing_file_is_waited_for_with_one_log_line(tmp_path, frame_bgr, caplog):
    path = tmp_path / "frame.jpg"
    source = LatestFrameFile(str(path))
    caplog.set_level(logging.INFO, "count_people.frames")
    threading.Timer(0.5, lambda: replace_frame(path, jpeg_bytes(frame_bgr))).start()
    frame = next_within(source, 5)
    assert frame is not None
    waiting = [r for r in caplog.records if "waiting for frame file" in r.getMessage()]
    assert len(waiting) == 1


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not a jpeg at all", id="garbage"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_corrupt_frame_is_skipped_and_counted(tmp_path, frame_bgr, corrupt):
    path = tmp_path / "frame.jpg"
    data = jpeg_bytes(frame_bgr)
    replace_frame(path, corrupt(data))
    source = LatestFrameFile(str(path))
    assert next_within(source, 0.3) is None
    assert source.skipped == 1
    replace_frame(path, data)
    assert next_within(source, 2) is not None, "a good frame after a corrupt one must be processed"
    assert source.skipped == 1


def test_truncated_jpeg_is_rejected(frame_bgr):
    data = jpeg_bytes(frame_bgr)
    for fraction in (0.3, 0.8, 0.99):
        assert decode_image(data[: int(len(data) * fraction)]) is None
    assert decode_image(data[:-1]) is None, "a JPEG without its EOI marker is incomplete"
    assert decode_image(data + b"\x00\x00") is not None  # zero padding after EOI is fine


def test_frame_age_is_measured(tmp_path, frame_bgr):
    path = tmp_path / "frame.jpg"
    replace_frame(path, jpeg_bytes(frame_bgr))
    old = time.time() - 3
    os.utime(path, (old, old))
    frame = LatestFrameFile(str(path)).next_frame(threading.Event())
    assert 2900 < frame.age_ms < 4000
    assert abs(frame.capture_time - old) < 0.01


def test_stop_interrupts_waiting(tmp_path, stop):
    source = LatestFrameFile(str(tmp_path / "never.jpg"))
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert source.next_frame(stop) is None
    assert time.monotonic() - started < 1.0
