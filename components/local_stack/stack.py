"""Start and stop the local chain: mosquitto, camera emulator, grabber, IPC server, counter."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gst_grabber.emulator import TEST_PATTERN

from local_stack.services import Service, StackError, free_port, mosquitto_command, port_open

log = logging.getLogger("local_stack")

REPO_ROOT = Path(__file__).resolve().parents[2]


def python_module(module: str, *args: str) -> list[str]:
    """Run a project module with this interpreter (the venv's), not whatever is on PATH."""
    return [sys.executable, "-m", module, *args]


def frame_directory() -> Path:
    """A RAM-backed folder for the frame file when the machine has one (as on a device), else /tmp."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="people-counter-frames-", dir=base))


@dataclass
class StackOptions:
    """What the chain runs on: a video file or ``test`` (served by the emulator), or an RTSP URL."""

    source: str
    counter_args: list[str] = field(default_factory=list)
    grabber_fps: int = 10
    camera_id: str = "camera-1"
    thing_name: str = "local-thing"
    counter_config: Path | None = None  # served as the component configuration, as a deployment would
    recipe: Path | None = None  # default: the counter recipe as ggctl renders it for a deployment
    workdir: Path | None = None


class LocalStack:
    """The chain of real processes; ``start`` brings it up in dependency order, ``stop`` tears it down."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.workdir = options.workdir or Path(tempfile.mkdtemp(prefix="people-counter-local-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.frame_dir = frame_directory()
        self.frame_file = self.frame_dir / "frame.jpg"
        self.mqtt_port = free_port()
        self.rtsp_port = free_port()
        self.socket_path = self.workdir / "ipc.socket"
        self.token = secrets.token_urlsafe(16)
        self.services: dict[str, Service] = {}

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def camera_url(self) -> str:
        if self.options.source.startswith(("rtsp://", "rtsps://")):
            return self.options.source
        return f"rtsp://127.0.0.1:{self.rtsp_port}/cam1"

    def start(self) -> LocalStack:
        try:
            self._start_broker()
            if not self.options.source.startswith(("rtsp://", "rtsps://")):
                self.start_emulator()
            self._start_grabber()
            self._start_ipc_server()
            self._start_counter()
        except BaseException:
            self.stop()
            raise
        return self

    def _add(self, service: Service) -> Service:
        self.services[service.name] = service
        return service

    def _start_broker(self) -> None:
        argv = mosquitto_command(self.workdir, self.mqtt_port)
        self._add(Service("mosquitto", argv, self.workdir)).start(lambda: port_open(self.mqtt_port), 10)

    def start_emulator(self) -> None:
        """(Re)start the camera emulator on the same port, e.g. to test that the chain recovers."""
        source = self.options.source
        if source != TEST_PATTERN and not Path(source).is_file():
            raise StackError(f"video file {source} does not exist; pass a video file, 'test' or an rtsp:// URL")
        argv = python_module("gst_grabber.emulator", source, "--port", str(self.rtsp_port))
        self._add(Service("emulator", argv, self.workdir)).start(lambda: port_open(self.rtsp_port), 20)

    def stop_emulator(self) -> None:
        self.services["emulator"].stop()

    def _start_grabber(self) -> None:
        argv = python_module("gst_grabber.runner", "--output-dir", str(self.frame_dir),
                             "--output-name", self.frame_file.name, "--max-fps", f"{self.options.grabber_fps:g}",
                             "--watchdog-s", "3", "--backoff-max-s", "2")
        # The URL may carry a password: pass it in the environment, never in argv (visible in ps).
        self._add(Service("grabber", argv, self.workdir, env={"GRABBER_RTSP_URL": self.camera_url})).start()

    def _counter_recipe(self) -> Path:
        """The recipe the IPC server enforces: the one a deployment would get (same accessControl)."""
        if self.options.recipe is not None:
            return self.options.recipe
        from ggctl.errors import GgctlError
        from ggctl.project import COUNTER, load_components
        from ggctl.render import dump, render

        try:
            components = load_components(REPO_ROOT)
            recipe = render(REPO_ROOT, components[COUNTER.key], components, "local-stack",
                            {COUNTER.artifact: "not-uploaded"})
        except GgctlError as exc:
            raise StackError(f"cannot render the counter recipe: {exc}") from None
        path = self.workdir / "counter-recipe.yaml"
        path.write_text(dump(recipe))
        return path

    def _start_ipc_server(self) -> None:
        argv = python_module("gg_ipc_local", "--recipe", str(self._counter_recipe()), "--socket", str(self.socket_path),
                             "--thing-name", self.options.thing_name, "--mqtt", self.mqtt_url,
                             "--token", self.token)
        if self.options.counter_config is not None:
            argv += ["--config", str(self.options.counter_config)]
        self._add(Service("ipc-server", argv, self.workdir)).start(self.socket_path.exists, 20)

    def _start_counter(self) -> None:
        env = {
            "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": str(self.socket_path),
            "SVCUID": self.token,
            "AWS_IOT_THING_NAME": self.options.thing_name,
        }
        argv = python_module("count_people", "--source", str(self.frame_file), "--publish", "ipc",
                             "--camera-id", self.options.camera_id, "--thing-name", self.options.thing_name,
                             *self.options.counter_args)
        self._add(Service("counter", argv, self.workdir, env=env)).start()

    def check(self) -> None:
        """Raise StackError naming the first service that died, with the end of its log."""
        for service in self.services.values():
            if service.process is not None and not service.running:
                raise StackError(f"{service.name} exited ({service.process.returncode}):\n{service.tail()}")

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        shutil.rmtree(self.frame_dir, ignore_errors=True)
