"""Real processes for grabber tests: the RTSP emulator and the gst-grabber runner, on loopback only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from support import free_port, wait_for

BIN = Path(sys.executable).parent
PASSWORD = "Pa55:w0rd/xyz"  # has ':' and '/' so the URL must percent-encode it
PASSWORD_URL = "Pa55%3Aw0rd%2Fxyz"
USER = "admin"


def require_gstreamer() -> None:
    if shutil.which("gst-launch-1.0") is None:
        pytest.skip("gst-launch-1.0 is not installed (scripts/setup.sh installs GStreamer)")
    try:
        import gi  # noqa: F401
    except ImportError:
        pytest.skip("PyGObject is missing: install the 'grabber' extra (scripts/setup.sh does)")


class _Output:
    """Collects a child's combined output in a thread so pipes never fill up."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def join(self) -> None:
        self._thread.join(timeout=5)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Emulator:
    """``rtsp-emulator`` as a child process; stop() and start() again reuse the same port."""

    def __init__(self, sources: Sequence[str] = ("test",), size: str = "320x240", fps: int = 30,
                 auth: bool = True, mounts: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.args = [str(BIN / "rtsp-emulator"), *sources, *(f"--mount={m}" for m in mounts), "--port", str(self.port),
                     "--size", size,
                     "--fps", str(fps), "--bitrate-kbps", "800"]
        self.env = dict(os.environ)
        if auth:
            self.args += ["--user", USER]
            self.env["RTSP_EMULATOR_PASSWORD"] = PASSWORD
        self.auth = auth
        self.proc: subprocess.Popen | None = None
        self.output: _Output | None = None

    def url(self, mount: str = "/cam1", password: str | None = None) -> str:
        creds = f"{USER}:{password or PASSWORD_URL}@" if self.auth else ""
        return f"rtsp://{creds}127.0.0.1:{self.port}{mount}"

    def start(self) -> Emulator:
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.output = _Output(self.proc)
        wait_for(lambda: "serving" in self.output.text or self.proc.poll() is not None, 15,
                 what="rtsp-emulator to listen")
        assert self.proc.poll() is None, f"emulator died: {self.output.text}"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class Grabber:
    """``gst-grabber`` as a child process configured by environment, like the container (``args``: flags)."""

    def __init__(self, url: str, out_dir: Path, args: Sequence[str] = (), **settings: object) -> None:
        self.out_dir = out_dir
        self.args = list(args)
        self.env: dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("GRABBER_")}
        self.env.update(GRABBER_RTSP_URL=url, GRABBER_OUTPUT_DIR=str(out_dir), GRABBER_LOG_LEVEL="debug")
        self.env.update({f"GRABBER_{k.upper()}": str(v) for k, v in settings.items()})
        self.proc: subprocess.Popen | None = None
        self.output: _Output | None = None

    @property
    def frame(self) -> Path:
        return self.out_dir / self.env.get("GRABBER_OUTPUT_NAME", "frame.jpg")

    @property
    def status_file(self) -> Path:
        return self.out_dir / (self.frame.stem + ".status.json")

    def start(self) -> Grabber:
        self.proc = subprocess.Popen([str(BIN / "gst-grabber"), *self.args], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output = _Output(self.proc)
        return self

    def stop(self) -> float:
        """SIGTERM; returns how long the runner took to exit."""
        assert self.proc is not None
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output.join()
        return time.monotonic() - start


def frame_id(path: Path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def count_frames(path: Path, seconds: float) -> int:
    """Distinct frame files (new inode or mtime) seen while polling every 2 ms."""
    seen, count = frame_id(path), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = frame_id(path)
        if current is not None and current != seen:
            seen, count = current, count + 1
        time.sleep(0.002)
    return count
