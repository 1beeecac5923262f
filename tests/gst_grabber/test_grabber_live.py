"""Acceptance tests with real GStreamer: rtsp-emulator -> gst-grabber -> frame file."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest
from grabber_support import BIN, PASSWORD, PASSWORD_URL, count_frames, frame_id
from support import wait_for

pytestmark = pytest.mark.clean_install


def _assert_no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and PASSWORD_URL not in text
        assert "***@" in text or not text  # the URL was shown, masked


def _status(grabber) -> dict:
    """The grabber's status file; empty until it is first written."""
    try:
        return json.loads(grabber.status_file.read_text())
    except FileNotFoundError:
        return {}


class FrameCounter:
    """Counts distinct frame files (new inode or mtime) over the calls it gets, e.g. from ``wait_for``."""

    def __init__(self, path) -> None:
        self.path, self.seen, self.count = path, frame_id(path), 0

    def __call__(self) -> int:
        current = frame_id(self.path)
        if current is not None and current != self.seen:
            self.seen, self.count = current, self.count + 1
        return self.count


def _decodes(data: bytes) -> bool:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None


def test_frames_appear_within_2s_and_keep_refreshing(emulator, grabber_factory):
    start = time.monotonic()
    grabber = grabber_factory(emulator.url())
    wait_for(lambda: frame_id(grabber.frame), 2.0, 0.01, "first frame")
    assert time.monotonic() - start < 2.0
    assert _decodes(grabber.frame.read_bytes())
    assert count_frames(grabber.frame, 2.0) >= 5  # default cap 5 fps: still refreshing
    status = json.loads(grabber.status_file.read_text())
    assert status["state"] == "running" and status["last_frame_age_s"] < 1.5
    assert status["camera"] == f"rtsp://admin:***@127.0.0.1:{emulator.port}/cam1"


def test_output_rate_matches_cap(emulator_factory, grabber_factory):
    emulator = emulator_factory(fps=30)
    for cap in (10, 3):
        grabber = grabber_factory(emulator.url(), max_fps=cap)
        wait_for(lambda g=grabber: frame_id(g.frame), 5, what="first frame")
        time.sleep(1.0)  # past RTSP start-up and jitter buffer
        seconds = 8.0
        rate = count_frames(grabber.frame, seconds) / seconds
        grabber.stop()
        assert abs(rate - cap) <= 0.1 * cap, f"cap {cap} fps gave {rate:.2f} fps"


def test_every_frame_when_cap_is_zero(emulator_factory, grabber_factory):
    emulator = emulator_factory(fps=15)
    grabber = grabber_factory(emulator.url(), max_fps=0)
    wait_for(lambda: frame_id(grabber.frame), 5, what="first frame")
    time.sleep(1.0)
    rate = count_frames(grabber.frame, 4.0) / 4.0
    assert abs(rate - 15) <= 1.5, rate


def test_tight_loop_reader_never_sees_partial_jpeg(emulator_factory, grabber_factory):
    emulator = emulator_factory(size="640x480", fps=30)
    grabber = grabber_factory(emulator.url(), max_fps=0)  # every frame: the most replacements
    wait_for(lambda: frame_id(grabber.frame), 5, what="first frame")
    reads, distinct, last = 0, 0, b""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        data = grabber.frame.read_bytes()
        reads += 1
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", f"partial JPEG at read {reads}"
        if data != last:
            distinct += 1
            last = data
            assert _decodes(data), f"undecodable JPEG at read {reads}"
    assert distinct > 200 and reads > distinct  # the file really changed under the reader, many times


def test_resumes_after_camera_restart_without_restarting_grabber(emulator, grabber_factory):
    grabber = grabber_factory(emulator.url())
    wait_for(lambda: frame_id(grabber.frame), 5, what="first frame")
    emulator.stop()
    wait_for(lambda: _status(grabber).get("restarts", 0) >= 1, 15, 0.05, "the attempt to end with the camera down")
    before = frame_id(grabber.frame)
    emulator.start()
    restarted = time.monotonic()
    wait_for(lambda: frame_id(grabber.frame) != before, 10, 0.05, "frames after the camera came back")
    resumed_after = time.monotonic() - restarted
    assert grabber.proc.poll() is None
    assert resumed_after < 10
    assert count_frames(grabber.frame, 1.5) >= 4
    assert "restart" in grabber.output.text


def test_watchdog_restarts_a_frozen_camera(emulator, grabber_factory):
    grabber = grabber_factory(emulator.url(), watchdog_s=2)
    wait_for(lambda: frame_id(grabber.frame), 5, what="first frame")
    emulator.proc.send_signal(signal.SIGSTOP)  # hung camera: sockets stay open, nothing arrives
    try:
        wait_for(lambda: "no frame for 2 s" in grabber.output.text, 6, 0.1, "the watchdog to fire")
    finally:
        emulator.proc.send_signal(signal.SIGCONT)
    before = frame_id(grabber.frame)
    wait_for(lambda: frame_id(grabber.frame) != before, 15, 0.05, "frames after the camera recovered")
    assert grabber.proc.poll() is None


def test_wrong_host_and_path_give_logged_retries_not_a_crash(emulator, grabber_factory):
    wrong_path = grabber_factory(emulator.url("/nope"))
    wrong_host = grabber_factory(f"rtsp://admin:{PASSWORD_URL}@127.0.0.1:1/cam1")
    for grabber in (wrong_path, wrong_host):  # two failed attempts each, the second after its back-off
        wait_for(lambda g=grabber: _status(g).get("restarts", 0) >= 2, 15, 0.05, "two restarts")
    for grabber, why in ((wrong_path, "Not Found"), (wrong_host, "Could not open resource")):
        assert grabber.proc.poll() is None, grabber.output.text
        retries = [ln for ln in grabber.output.lines if "WARNING attempt" in ln]
        assert len(retries) >= 2, grabber.output.text
        assert all(why in ln and "restart" in ln for ln in retries), retries
        state = json.loads(grabber.status_file.read_text())
        assert state["state"] in ("backoff", "starting") and state.get("restarts", 0) >= 2
        assert grabber.stop() < 5.0


def test_sigterm_stops_within_5s_and_password_never_printed(emulator, grabber_factory):
    grabber = grabber_factory(emulator.url())
    wait_for(lambda: frame_id(grabber.frame), 5, what="first frame")
    wrong = grabber_factory(emulator.url(password="wrong" + PASSWORD_URL))  # 401, with the secret in the URL
    wait_for(lambda: "Unauthorized" in wrong.output.text and "gst: ERROR" in wrong.output.text, 15, 0.05,
             "the refused attempt, logged")
    assert grabber.stop() < 5.0 and grabber.proc.returncode == 0
    assert wrong.stop() < 5.0
    assert "Unauthorized" in wrong.output.text
    assert json.loads(grabber.status_file.read_text())["state"] == "stopped"
    for g in (grabber, wrong):
        _assert_no_password(g.output.text, g.status_file.read_text())
        assert "rtspsrc name=camera location=rtsp://127.0.0.1:" in g.output.text  # the pipeline: no credentials
    assert "gst: ERROR" in wrong.output.text  # gst-launch's own output is logged too, masked


def test_bad_setting_is_one_line_error_without_password(tmp_path):

    env = {"GRABBER_RTSP_URL": f"rtsp://admin:{PASSWORD_URL}@127.0.0.1:1/x", "GRABBER_MAX_FPS": "fast",
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(BIN / "gst-grabber")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "GRABBER_MAX_FPS='fast' is invalid" in result.stderr
    bad_url = subprocess.run([str(BIN / "gst-grabber"), "--url", f"http://admin:{PASSWORD_URL}@cam/x"],
                             env=env, capture_output=True, text=True, timeout=30)
    assert bad_url.returncode == 2 and "Traceback" not in bad_url.stderr
    _assert_no_password(bad_url.stderr)


def test_emulator_loops_a_video_file(tmp_path, emulator_factory, grabber_factory):
    clip = tmp_path / "clip.mp4"  # 1 s of video: frames after 3 s prove the loop
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=25", "!", "video/x-raw,framerate=25/1",
                    "!", "x264enc", "!", "mp4mux", "!", "filesink", f"location={clip}"], check=True, timeout=60)
    emulator = emulator_factory([str(clip), "test"], auth=False)
    files = grabber_factory(emulator.url("/cam1"), codec="auto")
    pattern = grabber_factory(emulator.url("/cam2"), max_width=160)
    wait_for(lambda: frame_id(files.frame) and frame_id(pattern.frame), 5, what="frames from both mounts")
    frames = FrameCounter(files.frame)  # the 5 fps cap takes 5 frames a pass: 11 are past the second loop
    wait_for(lambda: frames() >= 11, 10, 0.002, "frames from the looped clip")
    assert _status(files).get("restarts") == 0, "looped by the emulator, not by reconnecting"
    image = cv2.imdecode(np.frombuffer(pattern.frame.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (120, 160)  # max width applied, aspect kept
