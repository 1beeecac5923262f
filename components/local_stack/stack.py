"""Start and stop the local chain: mosquitto, one camera emulator per camera, grabber, IPC server, counter.

Several cameras share one grabber and one counter, configured by one cameras file (``config.yaml`` in the
work folder) that both read: the grabber with ``--cameras``, the counter as its component configuration
served by gg-ipc-local. Adding a camera rewrites that file and signals both (SIGHUP), as a deployment
would: neither process restarts. Each emulated camera has its own emulator process, so one camera can
go down while the others run on.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from frame_handoff import status_path
from frame_handoff.cameras import IDENTIFIER
from gst_grabber.emulator import TEST_PATTERN

from local_stack.services import Service, StackError, free_port, mosquitto_command, port_open

log = logging.getLogger("local_stack")

REPO_ROOT = Path(__file__).resolve().parents[2]
RTSP_SCHEMES = ("rtsp://", "rtsps://")


def python_module(module: str, *args: str) -> list[str]:
    """Run a project module with this interpreter (the venv's), not whatever is on PATH."""
    return [sys.executable, "-m", module, *args]


def frame_directory() -> Path:
    """A RAM-backed folder for the frame files when the machine has one (as on a device), else /tmp."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="people-counter-frames-", dir=base))


@dataclass(frozen=True)
class CameraSource:
    """A camera of the stack: a video file or ``test`` (served by its own emulator), or an RTSP URL."""

    id: str
    source: str

    @property
    def emulated(self) -> bool:
        return not self.source.startswith(RTSP_SCHEMES)


def camera_sources(texts: list[str], taken: tuple[str, ...] = ()) -> list[CameraSource]:
    """``[ID=]SOURCE`` texts -> cameras; an id defaults to the file's name (else camera-N), made unique."""
    cameras: list[CameraSource] = []
    ids = list(taken)
    for text in texts:
        head, sep, rest = text.partition("=")
        explicit = bool(sep) and IDENTIFIER.fullmatch(head) is not None and not head.startswith(RTSP_SCHEMES)
        source = rest if explicit else text
        if explicit:
            camera_id = head
            if camera_id in ids:
                raise StackError(f"camera id {camera_id!r} is given twice; give each camera its own")
        else:
            stem = re.sub(r"[^A-Za-z0-9_.:-]", "-", Path(source).stem) if not source.startswith(RTSP_SCHEMES) else ""
            camera_id = stem if stem and stem != TEST_PATTERN else f"camera-{len(ids) + 1}"
            base, n = camera_id, 2
            while camera_id in ids:
                camera_id, n = f"{base}-{n}", n + 1
        if not source.startswith(RTSP_SCHEMES) and source != TEST_PATTERN and not Path(source).is_file():
            raise StackError(f"video file {source} does not exist; pass a video file, 'test' or an rtsp:// URL "
                             "(optionally as ID=SOURCE)")
        ids.append(camera_id)
        cameras.append(CameraSource(camera_id, source))
    return cameras


@dataclass
class StackOptions:
    """What the chain runs on: ``[ID=]SOURCE`` texts (video file, ``test`` or RTSP URL), one camera each."""

    sources: list[str]
    counter_args: list[str] = field(default_factory=list)
    grabber_fps: int = 10
    emulator_args: list[str] = field(default_factory=list)  # e.g. --size 320x240 --fps 10 (rtsp-emulator --help)
    thing_name: str = "local-thing"
    counter_config: Path | None = None  # counter settings; its `cameras` entries add keys to cameras by id
    recipe: Path | None = None  # default: the counter recipe as ggctl renders it for a deployment
    counter_env: dict[str, str] = field(default_factory=dict)  # e.g. a rendered Run step's Setenv (model files)
    workdir: Path | None = None


class LocalStack:
    """The chain of real processes; ``start`` brings it up in dependency order, ``stop`` tears it down."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.workdir = options.workdir or Path(tempfile.mkdtemp(prefix="people-counter-local-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cameras = camera_sources(options.sources)
        if not self.cameras:
            raise StackError("no camera: pass a video file, 'test' or an rtsp:// URL")
        self.settings = self._read_counter_config()
        ids = {camera.id for camera in self.cameras}
        for entry in self.settings.get("cameras") or []:
            if not isinstance(entry, dict) or entry.get("id") not in ids:
                raise StackError(f"counter config camera {entry!r} matches no source; name the source after it: "
                                 f"ID=VIDEO or ID=rtsp://... (sources: {', '.join(sorted(ids))})")
        self.frame_dir = frame_directory()
        self.config_file = self.workdir / "config.yaml"
        self.mqtt_port = free_port()
        self.rtsp_ports = {camera.id: free_port() for camera in self.cameras}
        self.socket_path = self.workdir / "ipc.socket"
        self.token = secrets.token_urlsafe(16)
        self.services: dict[str, Service] = {}

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    def camera_url(self, camera: CameraSource) -> str:
        if not camera.emulated:
            return camera.source
        return f"rtsp://127.0.0.1:{self.rtsp_ports[camera.id]}/{camera.id}"

    def frame_file(self, camera_id: str) -> Path:
        return self.frame_dir / f"{camera_id}.jpg"

    def start(self) -> LocalStack:
        try:
            self._start_broker()
            for camera in self.cameras:
                if camera.emulated:
                    self.start_camera(camera.id)
            self._write_config()
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

    def _camera(self, camera_id: str) -> CameraSource:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise StackError(f"no camera {camera_id!r}; the stack has {', '.join(c.id for c in self.cameras)}")

    def start_camera(self, camera_id: str) -> None:
        """(Re)start the emulator of one camera on its port, e.g. to test that the chain recovers."""
        camera, port = self._camera(camera_id), self.rtsp_ports[camera_id]
        argv = python_module("gst_grabber.emulator", "--mount", f"{camera.id}={camera.source}", "--port", str(port),
                             *self.options.emulator_args)
        self._add(Service(f"emulator-{camera.id}", argv, self.workdir)).start(lambda: port_open(port), 20)

    def stop_camera(self, camera_id: str) -> None:
        self.services[f"emulator-{self._camera(camera_id).id}"].stop()

    def add_camera(self, text: str) -> CameraSource:
        """A new camera while everything runs: its emulator, then the cameras file, then SIGHUP to the grabber
        and to the IPC server (which deploys the file to the counter, as a configuration update would)."""
        (camera,) = camera_sources([text], tuple(c.id for c in self.cameras))
        self.cameras.append(camera)
        if camera.emulated:
            self.rtsp_ports[camera.id] = free_port()
            self.start_camera(camera.id)
        self._write_config()
        for name in ("grabber", "ipc-server"):
            self.services[name].signal(signal.SIGHUP)
        return camera

    def _read_counter_config(self) -> dict:
        path = self.options.counter_config
        if path is None:
            return {}
        try:
            settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise StackError(f"cannot read counter config {path}: {exc}") from None
        if not isinstance(settings, dict):
            raise StackError(f"counter config {path} must be a mapping of count-people keys")
        return settings

    def _write_config(self) -> None:
        """The one cameras file of grabber and counter: the counter settings, and a camera entry per source
        (URL and frame file), with the keys the settings' own ``cameras`` give that id (lines, zones, ...)."""
        extra = {c["id"]: c for c in self.settings.get("cameras") or []}
        # grabber_status too: the counter recipe's default names the single camera's status file.
        cameras = [{**extra.get(c.id, {}), "id": c.id, "rtsp_url": self.camera_url(c),
                    "source": str(self.frame_file(c.id)), "grabber_status": str(status_path(self.frame_file(c.id)))}
                   for c in self.cameras]
        # Locally every frame is free to publish: per-frame counts unless the user's settings say otherwise
        # (the component's default, summary, is for IoT Core's bill).
        text = yaml.safe_dump({"publish_mode": "every_frame", **self.settings, "cameras": cameras}, sort_keys=False)
        tmp = self.config_file.with_name(f".{self.config_file.name}.tmp")
        # A camera URL may hold a password: the file is the user's only.
        tmp.write_text(text)
        tmp.chmod(0o600)
        os.replace(tmp, self.config_file)

    def _start_grabber(self) -> None:
        argv = python_module("gst_grabber.supervisor", "--cameras", str(self.config_file), "--output-dir",
                             str(self.frame_dir), "--max-fps", f"{self.options.grabber_fps:g}", "--watchdog-s", "3",
                             "--backoff-max-s", "2")
        self._add(Service("grabber", argv, self.workdir)).start()

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
                             f"--token={self.token}", "--config", str(self.config_file))  # = : a token may start with -
        self._add(Service("ipc-server", argv, self.workdir)).start(self.socket_path.exists, 20)

    def _start_counter(self) -> None:
        env = {
            "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": str(self.socket_path),
            "SVCUID": self.token,
            "AWS_IOT_THING_NAME": self.options.thing_name,
            **self.options.counter_env,
        }
        argv = python_module("count_people", "--publish", "ipc", "--thing-name", self.options.thing_name,
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
