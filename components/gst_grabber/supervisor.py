"""Runs every camera of the list: one :class:`Grabber` (one supervised ``gst-launch``) per camera, each in a thread.

Each camera keeps the single-camera runner's watchdog, backoff, status file and frame file, and a failing
camera restarts only its own child process. The threads cost little: each polls a file ten times a second
while GStreamer works in the child. SIGHUP, or a change of the cameras file, reads the list again and
starts, stops or restarts only the cameras whose settings changed; a bad new list is logged and the
running cameras go on. CPU per camera (its ``gst-launch``) goes to its status file and, every
``--stats-interval-s``, to one log line.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gst_grabber.cameras import Camera, load_cameras
from gst_grabber.config import ConfigError, build_parser, load_config
from gst_grabber.cpu import CpuMeter
from gst_grabber.masking import Masker, MaskingFilter, url_password
from gst_grabber.pipeline import required_elements
from gst_grabber.preflight import MissingElement, gst_inspect_exists, require_elements
from gst_grabber.runner import Grabber
from gst_grabber.secrets import with_secret

log = logging.getLogger("gst_grabber")

TICK_S = 0.5
CPU_WINDOW_S = 5.0  # the status file's cpu_percent covers this much time
STOP_JOIN_S = 5.0


@dataclass
class _Running:
    camera: Camera
    grabber: Grabber
    thread: threading.Thread
    status_cpu: CpuMeter = field(default_factory=CpuMeter)
    log_cpu: CpuMeter = field(default_factory=CpuMeter)
    last_log_cpu: float | None = None


class _OwnCpu:
    """Percent of one core the supervising process itself (its Python threads) used between calls."""

    def __init__(self) -> None:
        self._cpu, self._at = 0.0, time.monotonic()

    def percent_of(self, cpu: float) -> float:
        now = time.monotonic()
        percent = 100.0 * (cpu - self._cpu) / max(now - self._at, 1e-6)
        self._cpu, self._at = cpu, now
        return percent


class _CameraLog(logging.LoggerAdapter):
    """Prefixes each line with the camera id, so one log serves every camera."""

    def process(self, msg, kwargs):
        return f"[{self.extra['camera']}] {msg}", kwargs


class Supervisor:
    """Owns the grabbers; :meth:`run` blocks until :meth:`stop`, applying reloads as they are requested."""

    def __init__(self, reload: Callable[[], list[Camera]], masking: MaskingFilter, stats_interval_s: float,
                 watch: Path | None = None) -> None:
        self._load = reload
        self._masking = masking
        self._passwords: set = set()
        self.stats_interval_s = stats_interval_s
        self._watch = watch
        self._watch_stamp = self._stamp()
        self.running: dict[str, _Running] = {}
        self._stop = threading.Event()
        self._reload = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(self._watch) if self._watch else None
        except OSError:
            return None
        return st and (st.st_mtime_ns, st.st_size, st.st_ino)

    def apply(self, cameras: Sequence[Camera]) -> None:
        """Start the new cameras, stop the removed ones, restart the changed ones; leave the others alone."""
        self._passwords.update(url_password(c.config.url) for c in cameras)
        self._masking.masker = Masker(self._passwords)  # removed cameras' passwords stay masked too
        wanted = {c.id: c for c in cameras}
        changed = [r for cid, r in self.running.items() if wanted.get(cid) != r.camera]
        for item in changed:
            item.grabber.stop()
        for item in changed:
            item.thread.join(STOP_JOIN_S)
            del self.running[item.camera.id]
            if item.camera.id not in wanted:
                log.info("camera %s removed", item.camera.id or item.camera.masked)
        for camera in cameras:
            if camera.id not in self.running:
                self._start(camera)

    def _start(self, camera: Camera) -> None:
        logger = _CameraLog(log, {"camera": camera.id}) if camera.id else None
        grabber = Grabber(camera.config, Masker.for_url(camera.config.url), logger)
        grabber.status.camera_id = camera.id or None
        thread = threading.Thread(target=self._run_camera, args=(grabber,), name=f"camera-{camera.id}", daemon=True)
        self.running[camera.id] = _Running(camera, grabber, thread)
        thread.start()

    @staticmethod
    def _run_camera(grabber: Grabber) -> None:
        try:
            grabber.run()
        except OSError as exc:  # e.g. the frame folder cannot be created: this camera stops, the others go on
            grabber.log.error("camera stopped: %s", exc)

    def _reload_now(self) -> None:
        try:
            cameras = self._load()
        except ConfigError as exc:
            log.error("cameras not reloaded, the running ones go on: %s", self._masking.masker.mask(str(exc)))
            return
        log.info("cameras reloaded: %s", ", ".join(c.id or c.masked for c in cameras))
        self.apply(cameras)

    def _measure(self, log_due: bool) -> None:
        for item in self.running.values():
            pid = item.grabber.child.pid if item.grabber.child and item.grabber.child.poll() is None else None
            item.grabber.status.cpu_percent = item.status_cpu.percent(pid)
            if log_due:
                item.last_log_cpu = item.log_cpu.percent(pid)

    def _log_cpu(self, own: _OwnCpu) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        own_percent = own.percent_of(usage.ru_utime + usage.ru_stime)
        parts = [f"{cid or 'camera'} {'-' if r.last_log_cpu is None else f'{r.last_log_cpu:.1f}'}"
                 for cid, r in sorted(self.running.items())]
        log.info("CPU %% of one core over %.0f s: %s; supervisor %.1f", self.stats_interval_s, ", ".join(parts),
                 own_percent)

    def run(self, cameras: Sequence[Camera]) -> int:
        self.apply(cameras)
        own = _OwnCpu()
        next_cpu = next_log = time.monotonic()
        next_log += self.stats_interval_s
        while not self._stop.wait(TICK_S):
            if self._watch is not None and self._stamp() != self._watch_stamp:
                self._watch_stamp = self._stamp()
                self._reload.set()
            if self._reload.is_set():
                self._reload.clear()
                self._reload_now()
            now = time.monotonic()
            log_due = now >= next_log
            if now >= next_cpu or log_due:
                self._measure(log_due)
                next_cpu = now + CPU_WINDOW_S
            if log_due:
                self._log_cpu(own)
                next_log = now + self.stats_interval_s
            if self.running and not any(r.thread.is_alive() for r in self.running.values()):
                log.error("no camera is running any more; exiting")
                return 1
        for item in self.running.values():
            item.grabber.stop()
        for item in self.running.values():
            item.thread.join(STOP_JOIN_S)
        return 0


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 1.0 <= value <= 86400.0:
        raise argparse.ArgumentTypeError(f"must be between 1 and 86400 seconds, got {text}")
    return value


def build_parser_with_cameras() -> argparse.ArgumentParser:
    parser = build_parser()
    parser.add_argument("--cameras", type=Path, metavar="FILE",
                        help="cameras list (YAML/JSON with a top-level 'cameras' key, e.g. the counter's config "
                        "file); SIGHUP or a change of the file applies edits; env GRABBER_CAMERAS_FILE, or "
                        "GRABBER_CAMERAS with the list as JSON")
    parser.add_argument("--stats-interval-s", type=_positive_seconds, metavar="GRABBER_STATS_INTERVAL_S",
                        help="seconds between the log lines with each camera's CPU use; env "
                        "GRABBER_STATS_INTERVAL_S (default 60)")
    return parser


def setup_logging(level: str) -> MaskingFilter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s gst-grabber %(levelname)s %(message)s"))
    masking = MaskingFilter(Masker())
    handler.addFilter(masking)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return masking


def main(argv: Sequence[str] | None = None) -> int:
    environ = os.environ
    parser = build_parser_with_cameras()
    try:
        args = parser.parse_args(argv)
        stats = args.stats_interval_s or _positive_seconds(environ.get("GRABBER_STATS_INTERVAL_S") or "60")
        cameras_file = args.cameras or (Path(environ["GRABBER_CAMERAS_FILE"])
                                        if environ.get("GRABBER_CAMERAS_FILE") else None)
        base = load_config(argv, environ, parser=parser, require_url=False)
        base = with_secret(base, environ)  # GRABBER_RTSP_SECRET_ARN: credentials over Greengrass IPC

        def reload() -> list[Camera]:
            return load_cameras(base, cameras_file, environ.get("GRABBER_CAMERAS", ""))

        cameras = reload()
    except (ConfigError, argparse.ArgumentTypeError) as exc:
        # A URL may be malformed but still hold a password: mask what we can.
        secrets = [url_password(environ.get("GRABBER_RTSP_URL", ""))]
        print(f"gst-grabber: error: {Masker(secrets).mask(str(exc))}", file=sys.stderr)
        return 2
    try:  # a missing plugin is a set-up error to report once, not a reason to retry forever
        exists = gst_inspect_exists(base.gst_launch)
        require_elements(list(dict.fromkeys(e for c in cameras for e in required_elements(c.config))), exists)
    except MissingElement as exc:
        print(f"gst-grabber: error: {exc}", file=sys.stderr)
        return 1
    masking = setup_logging(base.log_level)
    supervisor = Supervisor(reload, masking, stats, watch=cameras_file)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: supervisor.stop())
    signal.signal(signal.SIGHUP, lambda _sig, _frame: supervisor.request_reload())
    if len(cameras) > 1 or cameras[0].id:
        log.info("%d cameras: %s", len(cameras), ", ".join(c.id for c in cameras))
    return supervisor.run(cameras)


if __name__ == "__main__":
    sys.exit(main())
