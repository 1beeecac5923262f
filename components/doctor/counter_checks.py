"""What the counter needs with its configured settings: Python and the MXNet pins, its model, its outputs."""

from __future__ import annotations

import importlib.metadata
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import List, Mapping
from urllib.parse import urlsplit

from count_people.comms.ipc import SOCKET_ENV, TOKEN_ENV, greengrass_environment
from count_people.config import Settings
from count_people.detectors import create_detector

from doctor.report import INFO, OK, PROBLEM, SKIPPED, WARNING, Result

DISTRIBUTION = "edge-people-counter"
MXNET_EXTRA = "mxnet"
TIMEOUT_S = 3.0


def _pin_mismatches() -> List[str]:
    """Installed versions outside the mxnet extra's pins in the project's metadata (pyproject.toml)."""
    from packaging.requirements import Requirement  # gluoncv's matplotlib needs it, so it is there with the extra

    wrong = []
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        if requirement.marker is None or not requirement.marker.evaluate({"extra": MXNET_EXTRA}):
            continue
        if requirement.marker.evaluate({"extra": ""}):
            continue  # a base dependency, not one of the extra's
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{requirement.name} missing")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            wrong.append(f"{requirement.name} {installed} (needs {requirement.specifier})")
    return wrong


#: What install.sh's mxnet_runs_on asks of an interpreter: MXNet 1.9.1's numpy<1.24 has wheels up to Python 3.11,
#: MXNet itself only for x86_64 and aarch64.
MXNET_PYTHON = ("import platform, sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 11) "
                "and platform.machine() in ('x86_64', 'aarch64')))")
#: The interpreters install.sh tries for MXNet, in its order (install_python, python3 by default, first).
INSTALL_PYTHONS = ("python3", "python3.11", "python3.10", "python3.9")


def _python_version(python: str) -> str:
    result = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.strip() or "unknown"


def install_path_check(settings: Settings) -> Result:
    """Which stack the counter's Install (install.sh, install_mxnet auto) takes on this host, or why none."""
    for python in INSTALL_PYTHONS:
        found = shutil.which(python)
        if found and subprocess.run([found, "-c", MXNET_PYTHON], capture_output=True, timeout=30).returncode == 0:
            return Result("counter", "install path", OK, f"MXNet with {python} ({_python_version(found)})")
    host = shutil.which("python3")
    version = _python_version(host) if host else "none"
    if settings.detector != "gluoncv":
        return Result("counter", "install path", OK, f"ONNX Runtime stack with python3 ({version}); "
                      f"detector {settings.detector} needs no MXNet")
    if settings.onnx_export:
        return Result("counter", "install path", OK, f"ONNX export on ONNX Runtime with python3 ({version}): "
                      f"no Python 3.9 to 3.11 for MXNet here")
    return Result("counter", "install path", PROBLEM, f"none: python3 is {version}, no Python 3.9 to 3.11 for "
                  "MXNet, and no ONNX export (onnx_export)",
                  "install python3.11, or deploy a counter built by 'ggctl build' where MXNet runs (it ships the "
                  "ONNX export)")


def python_checks(settings: Settings) -> List[Result]:
    """The gluoncv detector needs MXNet 1.9.1, which imports only beside numpy<1.24 (wheels up to Python 3.11),
    unless it runs the network's ONNX export; and the path the Install step takes on this host."""
    version = ".".join(map(str, sys.version_info[:3]))
    results = [install_path_check(settings)]
    required = settings.detector == "gluoncv" and not settings.onnx_export
    severity = PROBLEM if required else WARNING
    fix = "PYTHON=python3.11 scripts/setup.sh (recreate .venv first), or choose another detector"
    if sys.version_info >= (3, 12):
        return [*results, Result("counter", "python / mxnet pins", severity if required else INFO,
                                 f"Python {version}: MXNet/GluonCV need 3.11 or older", fix if required else "")]
    try:
        import gluoncv  # noqa: F401
        import mxnet  # noqa: F401
    except Exception as exc:  # numpy>=1.24 breaks MXNet's import with AttributeError, not ImportError
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return [*results, Result("counter", "python / mxnet pins", severity,
                                 f"Python {version}; MXNet/GluonCV do not import: {reason}",
                                 "pip install 'edge-people-counter[mxnet]' (scripts/setup.sh does)")]
    wrong = _pin_mismatches()
    if wrong:
        return [*results, Result("counter", "python / mxnet pins", severity, f"Python {version}; " + ", ".join(wrong),
                                 "pip install 'edge-people-counter[mxnet]' (scripts/setup.sh does)")]
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("mxnet", "gluoncv", "numpy"))
    return [*results, Result("counter", "python / mxnet pins", OK, f"Python {version}, {versions}")]


def model_checks(settings: Settings) -> List[Result]:
    """Loads the configured model exactly as the counter does at start-up."""
    what = f"{settings.detector} {Path(settings.model).name}"
    try:
        create_detector(settings).load()
    except Exception as exc:  # UserError says what to fix; anything else is shown as it is
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [Result("counter", "model loads", PROBLEM, f"{what}: {detail}",
                       "fix detector/model/params in the config (count-people --help lists them)")]
    return [Result("counter", "model loads", OK, what)]


def greengrass_checks(environ: Mapping[str, str], settings: Settings) -> List[Result]:
    """Informational: the nucleus sets these variables for the components it runs, not for a login shell."""
    found = greengrass_environment(environ)
    if found is None:
        detail = f"{SOCKET_ENV}/{TOKEN_ENV} not set: not running as a Greengrass component"
        hint = "--publish ipc needs them: gg-ipc-local prints them for local runs" if settings.publish == "ipc" else ""
        return [Result("greengrass", "ipc environment", INFO, detail, hint)]
    socket_path = found[0]
    state = "present" if Path(socket_path).exists() else "missing (is the nucleus running?)"
    return [Result("greengrass", "ipc environment", INFO, f"socket {socket_path} {state}")]


def output_checks(settings: Settings) -> List[Result]:
    """The MQTT broker and InfluxDB, when the settings name them."""
    results = []
    if settings.publish.startswith("mqtt://"):
        url = urlsplit(settings.publish)
        try:
            socket.create_connection((url.hostname, url.port or 1883), timeout=TIMEOUT_S).close()
            results.append(Result("counter", "mqtt broker", OK, f"{url.hostname}:{url.port} accepts connections"))
        except OSError as exc:
            results.append(Result("counter", "mqtt broker", PROBLEM, f"{settings.publish}: {exc.strerror or exc}",
                                  "start the broker (e.g. systemctl start mosquitto) or fix publish"))
    else:
        results.append(Result("counter", "mqtt broker", SKIPPED, f"publish is {settings.publish}"))
    if settings.influx_url:
        try:  # /ping answers 204 on InfluxDB 1.x and 2.x, without credentials
            with urllib.request.urlopen(settings.influx_url + "/ping", timeout=TIMEOUT_S) as answer:
                results.append(Result("counter", "influxdb", OK, f"{settings.influx_url} answers {answer.status}"))
        except (OSError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            results.append(Result("counter", "influxdb", PROBLEM, f"{settings.influx_url}: {reason}",
                                  "start InfluxDB (e.g. systemctl start influxdb) or fix influx_url"))
    else:
        results.append(Result("counter", "influxdb", SKIPPED, "influx_url not set"))
    return results
