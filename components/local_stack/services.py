"""Child processes of the local stack: started in order, stopped in reverse, never left behind."""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable

from gst_grabber.cpu import tree_cpu_seconds

log = logging.getLogger("local_stack")

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def mosquitto_command(workdir: Path, port: int) -> list[str]:
    """argv of a mosquitto broker on 127.0.0.1:``port``, anonymous and memory-only (config written to ``workdir``)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        raise StackError("mosquitto is not installed: apt-get install mosquitto (scripts/setup.sh does it)")
    config = workdir / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return [binary, "-c", str(config)]


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the stack process dies without cleaning up."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class StackError(RuntimeError):
    """A service did not come up; the message says which and where its log is."""


class Service:
    """One supervised child process with its own log file and process group.

    Its own group keeps Ctrl-C in the terminal away from it, so the stack stops services in
    order; the parent-death signal covers a stack that is killed outright.
    """

    def __init__(self, name: str, argv: Sequence[str], logdir: Path, env: Mapping[str, str] | None = None) -> None:
        self.name, self.argv = name, list(argv)
        self.env = {**os.environ, **(env or {})}
        self.log_path = logdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, ready: Callable[[], bool] | None = None, timeout: float = 30.0) -> Service:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.argv, stdout=log_file, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        log.debug("started %s (pid %d)", self.name, self.process.pid)
        if ready is not None:
            deadline = time.monotonic() + timeout
            while not ready():
                if self.process.poll() is not None:
                    raise StackError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
                if time.monotonic() > deadline:
                    raise StackError(f"{self.name} not ready after {timeout:.0f} s; see {self.log_path}")
                time.sleep(0.05)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self.process = None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process itself (e.g. SIGHUP: read your configuration again)."""
        if self.running:
            self.process.send_signal(signum)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its live descendants (e.g. gst-launch under the grabber)."""
        return tree_cpu_seconds(self.process.pid) if self.running else 0.0

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
