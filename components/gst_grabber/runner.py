"""One camera of ``gst-grabber`` (supervisor.py): runs its GStreamer pipeline as a child process and keeps it alive.

A child ``gst-launch-1.0`` keeps the runner stdlib-only (the image needs no pip) and isolates
GStreamer crashes. The runner watches the frame file itself: a new file (inode/mtime) is a frame.
The child is restarted with capped exponential backoff when it exits, errors, or writes no frame for
the watchdog time; each attempt is one log line. Everything the child prints is masked.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from frame_handoff import BACKOFF, RUNNING, STARTING, STOPPED

from gst_grabber.config import GrabberConfig
from gst_grabber.keyframes import keyframes_only
from gst_grabber.masking import Masker
from gst_grabber.pipeline import launch_command, launch_environment
from gst_grabber.status import GrabberStatus, write_atomic

log = logging.getLogger("gst_grabber")

POLL_S = 0.1
STATUS_EVERY_S = 1.0
STOP_GRACE_S = 2.0  # SIGINT, then SIGKILL: the whole stop stays well under 5 s


def backoff_delay(failures: int, initial_s: float, max_s: float) -> float:
    """Delay before the next attempt after ``failures`` consecutive attempts without a frame."""
    return min(max_s, initial_s * 2 ** max(0, failures - 1))


def _die_with_parent() -> None:
    # Linux: the child gets SIGKILL if the runner dies, so no orphan keeps writing frames.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _summarise(lines: Sequence[str]) -> str:
    """The child's error in one line: the first ERROR message plus its last debug line."""
    errors = [ln for ln in lines if ln.startswith("ERROR: from element")]
    if not errors:
        tail = [ln for ln in lines if ln.strip()]
        return tail[-1] if tail else ""
    first = errors[0].split(": ", 2)[-1]
    idx = lines.index(errors[0])
    detail = [ln for ln in lines[idx + 1 : idx + 4] if ln and not ln.startswith(("Additional", "../", "ERROR"))]
    return f"{first} ({detail[0]})" if detail else first


@dataclass
class AttemptResult:
    reason: str
    got_frame: bool


class Grabber:
    """Supervises the pipeline until :meth:`stop` (from a signal handler or another thread)."""

    def __init__(self, config: GrabberConfig, masker: Masker | None = None,
                 logger: logging.LoggerAdapter | None = None) -> None:
        self.config = config
        self.masker = masker or Masker.for_url(config.url)
        self.log = logger or logging.LoggerAdapter(log, {})  # the supervisor's adapter names the camera
        self.child: subprocess.Popen | None = None  # the running gst-launch, for per-camera CPU
        self.status = GrabberStatus(camera=config.masked_url, frame_path=str(config.frame_path))
        self._stop = threading.Event()
        self._last_status_write = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        cfg = self.config
        cfg.output_dir.mkdir(parents=True, exist_ok=True)
        self.log.info("grabbing %s -> %s (max %s fps, transport %s, codec %s)", cfg.masked_url, cfg.frame_path,
                 cfg.max_fps or "all", cfg.transport, cfg.codec)
        failures = 0
        while not self._stop.is_set():
            self.status.attempt += 1
            result = self._attempt()
            if self._stop.is_set():
                break
            failures = 0 if result.got_frame else failures + 1
            delay = backoff_delay(max(failures, 1), cfg.backoff_initial_s, cfg.backoff_max_s)
            self.status.restarts += 1
            self.status.state = BACKOFF
            self.status.last_error = self.masker.mask(result.reason)
            self.log.warning("attempt %d ended: %s; restart %d in %.1f s", self.status.attempt,
                        self.status.last_error, self.status.restarts, delay)
            self._write_status(force=True)
            self._stop.wait(delay)
        self.status.state = STOPPED
        self._write_status(force=True)
        self.log.info("stopped")
        return 0

    def _frame_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.config.frame_path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _attempt(self) -> AttemptResult:
        cfg = self.config
        self.status.state = STARTING
        self._write_status(force=True)
        output: collections.deque[str] = collections.deque(maxlen=40)
        command = launch_command(cfg, keyframes_only(cfg))  # measured per attempt: a camera may be reconfigured
        self.log.debug("attempt %d: %s", self.status.attempt, " ".join(command))
        try:
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", start_new_session=True, preexec_fn=_die_with_parent,
                env=launch_environment(cfg),
            )
        except OSError as exc:
            return AttemptResult(f"cannot start the pipeline ({command[0]}): {exc.strerror}", False)
        self.child = proc
        reader = threading.Thread(target=self._read_output, args=(proc, output), daemon=True)
        reader.start()
        started = time.monotonic()
        last_frame_mono = started
        seen = self._frame_id()
        got_frame = False
        reason = ""
        while True:
            if self._stop.wait(POLL_S):
                reason = "stopped"
                break
            now = time.monotonic()
            current = self._frame_id()
            if current is not None and current != seen:
                seen, last_frame_mono = current, now
                self.status.last_frame_unix = current[1] / 1e9
                if not got_frame:
                    got_frame = True
                    self.log.info("attempt %d: frames arriving", self.status.attempt)
                self.status.state = RUNNING
            if proc.poll() is not None:
                reader.join(timeout=1)
                if proc.returncode == 0:
                    reason = "stream ended (EOS)"
                else:
                    summary = _summarise(list(output)) or "no output"
                    reason = f"pipeline exited with code {proc.returncode}: {summary}"
                break
            if now - last_frame_mono > cfg.watchdog_s:
                reason = f"no frame for {cfg.watchdog_s:g} s"
                break
            self._write_status()
        self._terminate(proc)
        reader.join(timeout=1)
        return AttemptResult(reason, got_frame)

    def _read_output(self, proc: subprocess.Popen, output: collections.deque[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = self.masker.mask(raw.rstrip("\n"))
            output.append(line)
            self.log.debug("gst: %s", line)

    def _terminate(self, proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_status_write < STATUS_EVERY_S:
            return
        self._last_status_write = now
        try:
            write_atomic(self.config.status_path, self.status.to_json())
        except OSError as exc:
            self.log.error("cannot write status file %s: %s", self.config.status_path, exc.strerror)


