"""AWS IoT Greengrass nucleus lite as a test bed: built once per machine, run without systemd, torn down fully.

Follows ../shared/greengrass-lite/README.md and its ``reference/`` templates: mosquitto with mutual TLS on
127.0.0.1:8883 stands in for AWS IoT Core (iotcored's port is fixed, it checks the host name ``localhost``);
ggconfigd, ggpubsubd, iotcored and ggipcd run directly; a component's lifecycle step runs through
``recipe-runner`` inside a cgroup named like the systemd unit ``ggl.NAME.service``, from which ggipcd
identifies the caller before it issues an SVCUID. The daemons' sockets live in /run/greengrass, so one
instance per host: a file lock serialises test runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from local_stack.services import port_open

CACHE_ROOT = Path(os.environ.get("EPC_GREENGRASS_LITE_CACHE", "/var/cache/epc-greengrass-lite"))
RUN_DIR = Path("/run/greengrass")
HOST_LOCK = Path("/run/epc-greengrass-lite.lock")
DAEMONS = ("ggconfigd", "ggpubsubd", "iotcored", "ggipcd")
THING = "TestThing"
MQTT_PORT = 8883  # fixed in iotcored
NUCLEUS = "aws.greengrass.NucleusLite"
SOCKET_ENV = "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"


class NucleusUnavailable(RuntimeError):
    """Nucleus lite cannot be built or run here; the message says why."""


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held for the block (blocks until another process lets go)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(source_dir: Path) -> Path:
    """The bin/ of nucleus lite built from ``source_dir`` (../shared/greengrass-lite), cached by source hash."""
    digest = hashlib.sha256()
    for path in sorted([source_dir / "build.sh", *(source_dir / "sources").glob("*.tar.gz")]):
        digest.update(path.name.encode() + path.read_bytes())
    prefix = CACHE_ROOT / digest.hexdigest()[:16]
    done = prefix / ".complete"
    with file_lock(CACHE_ROOT / ".build.lock"):
        if not done.exists():
            shutil.rmtree(prefix, ignore_errors=True)
            with tempfile.TemporaryDirectory(prefix="ggl-build-") as work:
                built = subprocess.run([str(source_dir / "build.sh"), str(prefix), work], capture_output=True,
                                       text=True, timeout=900)
            if built.returncode:
                raise NucleusUnavailable(f"building nucleus lite failed ({built.returncode}): "
                                         f"{(built.stdout + built.stderr)[-1500:]}")
            done.write_text("ok\n")
    return prefix / "bin"


def cgroup_v2_root() -> Path:
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "cgroup2":
            return Path(parts[1])
    raise NucleusUnavailable("no cgroup v2 hierarchy is mounted (recipe-runner needs one)")


def _terminate(process: subprocess.Popen, timeout: float = 5.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)


def _remove_sockets() -> None:
    if RUN_DIR.is_dir():
        for entry in RUN_DIR.iterdir():
            if entry.is_socket():
                entry.unlink()


@dataclass
class Component:
    """One lifecycle step of a component, running through recipe-runner in its own cgroup."""

    name: str
    process: subprocess.Popen
    cgroup: Path
    log: Path

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Kill everything in the component's cgroup (recipe-runner's children too), then remove the cgroup."""
        if self.cgroup.exists():
            with contextlib.suppress(OSError):
                (self.cgroup / "cgroup.kill").write_text("1")
        _terminate(self.process)
        for _ in range(50):
            try:
                self.cgroup.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:  # still has processes for a moment
                time.sleep(0.1)


@dataclass
class NucleusLite:
    """Mosquitto (mTLS) plus the nucleus daemons in ``runtime``; ``services`` are the components' config."""

    bin_dir: Path
    source_dir: Path
    runtime: Path
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    _lock: Any = None

    @property
    def certs(self) -> Path:
        return self.runtime / "certs"

    @property
    def root(self) -> Path:
        return self.runtime / "root"

    @property
    def socket_path(self) -> Path:
        return self.root / "gg-ipc.socket"

    def start(self) -> NucleusLite:
        if os.geteuid() != 0:
            raise NucleusUnavailable("nucleus lite's recipe-runner needs root (cgroups, /run/greengrass)")
        cgroup_v2_root()
        self._lock = HOST_LOCK.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # one nucleus per host: its sockets are in /run/greengrass
        try:
            self._prepare()
            self.start_broker()
            for daemon in DAEMONS:
                self._start_daemon(daemon)
            self._wait(self.socket_path.exists, 10, "ggipcd's socket")
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self) -> None:
        (self.root / "packages" / "recipes").mkdir(parents=True, exist_ok=True)
        (self.runtime / "config.d").mkdir(exist_ok=True)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        _remove_sockets()  # a killed earlier run's, which would look like live daemons
        subprocess.run([str(self.source_dir / "reference" / "gen-certs.sh"), str(self.certs), THING],
                       check=True, capture_output=True, timeout=60)
        template = (self.source_dir / "reference" / "mosquitto.conf").read_text()
        (self.runtime / "mosquitto.conf").write_text(template.replace("RUNTIME_DIR", str(self.runtime)))
        config = {
            "system": {"privateKeyPath": str(self.certs / "device.key"),
                       "certificateFilePath": str(self.certs / "device.pem"),
                       "rootCaPath": str(self.certs / "ca.pem"), "rootPath": str(self.root), "thingName": THING},
            "services": {NUCLEUS: {"componentType": "NUCLEUS", "configuration": {
                "awsRegion": "us-west-2", "iotCredEndpoint": "localhost", "iotDataEndpoint": "localhost",
                "iotRoleAlias": "TestRoleAlias", "runWithDefault": {"posixUser": "root:root"},
                "greengrassDataPlanePort": "8443", "platformOverride": {}}}, **self.services},
        }
        (self.runtime / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def _spawn(self, name: str, argv: list[str], cwd: Path) -> None:
        with (self.runtime / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def _start_daemon(self, daemon: str) -> None:
        argv = [str(self.bin_dir / daemon)]
        if daemon == "ggconfigd":
            argv += ["-c", str(self.runtime / "config.yaml"), "-C", str(self.runtime / "config.d")]
        self._spawn(daemon, argv, self.root)  # ggconfigd keeps config.db in its working directory
        if daemon == "ggconfigd":
            self._wait(lambda: (RUN_DIR / "gg_config").exists(), 10, "ggconfigd's socket")

    def start_broker(self) -> None:
        """(Re)start mosquitto on 8883, e.g. after ``stop_broker`` to end a simulated IoT Core outage."""
        self._spawn("mosquitto", ["mosquitto", "-c", str(self.runtime / "mosquitto.conf")], self.runtime)
        self._wait(lambda: port_open(MQTT_PORT), 10, "mosquitto listening on 8883")

    def stop_broker(self) -> None:
        process = self.processes.pop("mosquitto", None)
        if process is not None:
            _terminate(process)

    def iot_connected(self) -> bool:
        """Whether iotcored's last word on its link is "Connected" (iotcored/src/mqtt.c:339 vs :302, :459)."""
        log = self.log("iotcored")
        lost = max(log.rfind(m) for m in ("Failed to create TLS connection", "Error in receive loop",
                                           "Server-initiated DISCONNECT"))
        return log.rfind("Connected to IoT core") > lost

    def log(self, name: str) -> str:
        path = self.runtime / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}.log\n{self.log(n)[-800:]}" for n in self.processes)
                raise NucleusUnavailable(f"nucleus lite: no {what} (exited: {dead or 'none'})\n{logs}")
            time.sleep(0.05)

    def run_component(self, name: str, version: str, recipe: dict, phase: str = "Run",
                      env: dict[str, str] | None = None) -> Component:
        """Start ``phase`` of ``recipe`` through recipe-runner in the cgroup ggipcd expects."""
        recipe_path = self.root / "packages" / "recipes" / f"{name}-{version}.yaml"
        recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))
        (self.root / "work" / name).mkdir(parents=True, exist_ok=True)
        cgroup = cgroup_v2_root() / "system.slice" / f"ggl.{name}.service"
        cgroup.mkdir(parents=True, exist_ok=True)
        log = self.runtime / f"{name}.{phase}.log"
        runner = f"echo $$ > '{cgroup}/cgroup.procs' && exec '{self.bin_dir}/recipe-runner' -n '{name}' " \
                 f"-v '{version}' -p '{phase}'"
        env = {**os.environ, **(env or {}), SOCKET_ENV: str(self.socket_path)}
        with log.open("ab") as handle:
            process = subprocess.Popen(["sh", "-c", runner], stdout=handle, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=env)
        component = Component(name, process, cgroup, log)
        self.components.append(component)
        return component

    def stop(self) -> None:
        """Stop components, daemons and broker; remove cgroups and the daemons' sockets; release the host."""
        for component in self.components:
            component.stop()
        self.components.clear()
        for name in reversed(list(self.processes)):
            _terminate(self.processes.pop(name))
        _remove_sockets()
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def component_service(version: str, configuration: dict[str, Any]) -> dict[str, Any]:
    """A component's entry under ``services`` in the nucleus configuration (its config and accessControl)."""
    return {"version": version, "componentType": "GENERIC", "configuration": configuration}
