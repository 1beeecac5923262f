"""``count-people`` as a user runs it: a real process reading a real frame file."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import cv2
import jsonschema
import pytest
from count_people.config import Settings
from gluoncv_params import FAST_GLUONCV_MODEL
from support import jpeg_bytes, message_schema, replace_frame

pytest.importorskip("mxnet", reason="the mxnet extra is not installed")


class CounterProcess:
    """count-people in a child process, its stdout lines collected by a thread."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "count_people", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(line)

    def message(self, timeout: float) -> dict:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s; stderr: {''.join(self.stderr)[-2000:]}") from None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(10)


@pytest.fixture
def counter_args(fast_params):
    return ["--model", FAST_GLUONCV_MODEL, "--params", str(fast_params), "--stats-interval", "1"]


def test_every_replaced_frame_gives_exactly_one_message(tmp_path, frame_bgr, counter_args):
    frame_file = tmp_path / "frame.jpg"
    counter = CounterProcess("--source", str(frame_file), *counter_args)
    try:
        for quality in range(70, 90):
            replace_frame(frame_file, jpeg_bytes(frame_bgr, quality))
            message = counter.message(timeout=60)
            jsonschema.validate(message, message_schema())
            assert message["frame_size"] == [640, 480] and message["model"] == FAST_GLUONCV_MODEL
        time.sleep(1.5)  # the unchanged file must not be processed again
        assert counter.lines.empty()
        started = time.monotonic()
        assert counter.stop() == 0
        assert time.monotonic() - started < 5
    finally:
        counter.process.kill()
    assert any("FPS --" in line and "Persons" in line for line in counter.stderr), "stats line missing"


def test_unchanged_file_gives_no_message(tmp_path, frame_bgr, counter_args):
    frame_file = tmp_path / "frame.jpg"
    replace_frame(frame_file, jpeg_bytes(frame_bgr))
    counter = CounterProcess("--source", str(frame_file), *counter_args)
    try:
        counter.message(timeout=60)  # the file as found at start is one frame
        # A hundred polls of the unchanged file, then a frame of another size as a barrier: a message of the
        # unchanged file would come before the barrier's.
        time.sleep(100 * Settings().poll_interval)
        replace_frame(frame_file, jpeg_bytes(cv2.resize(frame_bgr, (320, 240))))
        assert counter.message(timeout=60)["frame_size"] == [320, 240], "the unchanged file was processed again"
        assert counter.lines.empty()
    finally:
        assert counter.stop() == 0


def test_sigterm_while_waiting_for_a_missing_file(tmp_path, counter_args):
    counter = CounterProcess("--source", str(tmp_path / "missing.jpg"), *counter_args)
    deadline = time.monotonic() + 60
    while not any("waiting for frame file" in line for line in counter.stderr):
        assert time.monotonic() < deadline and counter.process.poll() is None, "".join(counter.stderr)
        time.sleep(0.1)
    started = time.monotonic()
    assert counter.stop() == 0
    assert time.monotonic() - started < 5
    assert sum("waiting for frame file" in line for line in counter.stderr) == 1


def test_video_file_and_image_folder_give_one_message_per_frame(tmp_path, frame_bgr, counter_args):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(4):
        writer.write(frame_bgr)
    writer.release()
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(3):
        (folder / f"{index:03}.jpg").write_bytes(jpeg_bytes(frame_bgr))
    (folder / "004.jpg").write_bytes(b"corrupt")
    for source, frames in ((video, 4), (folder, 3)):
        result = subprocess.run([sys.executable, "-m", "count_people", "--source", str(source), *counter_args],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        messages = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(messages) == frames
        for message in messages:
            jsonschema.validate(message, message_schema())


def test_help_documents_every_option():
    result = subprocess.run([sys.executable, "-m", "count_people", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for key in Settings.options():
        assert "--" + key.name.replace("_", "-") in result.stdout
    assert "COUNT_PEOPLE_" in result.stdout and "--config" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--classes", "persons"], "unknown class 'persons'"),
        (["--params", "/nonexistent/model.params"], "file '/nonexistent/model.params' does not exist"),
        (["--publish", "mqtt://localhost:notaport"], "bad port"),
        (["--publish", "kafka://x"], "expected 'stdout', 'ipc' or mqtt://HOST:PORT"),
        (["--threshold", "1.5"], "threshold"),
        (["--detector", "nope"], "unknown detector 'nope'"),
        (["--context", "tpu"], "expected 'cpu' or 'gpu:N'"),
        (["--topic", "a/{room}"], "placeholders"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path, counter_args, args, expected):
    result = subprocess.run(
        [sys.executable, "-m", "count_people", "--source", str(tmp_path / "f.jpg"), *counter_args, *args],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_and_environment_share_the_keys(tmp_path, counter_args):
    config = tmp_path / "config.yaml"
    config.write_text("threshold: 0.7\ncamera_id: from-file\nclasses: [person]\nmax_fps: 2\n")
    from count_people.config import load_settings

    settings = load_settings({"max_fps": "3"}, environ={"COUNT_PEOPLE_CAMERA_ID": "from-env"}, config_file=str(config))
    assert (settings.threshold, settings.camera_id, settings.max_fps) == (0.7, "from-env", 3.0)
    config.write_text("thresold: 0.7\n")
    result = subprocess.run([sys.executable, "-m", "count_people", "--config", str(config), *counter_args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown key 'thresold'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
