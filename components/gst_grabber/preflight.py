"""Start-up check that every GStreamer element a pipeline names exists, before the pipeline is started.

Why: a missing plugin otherwise shows up late and vaguely (the emulator answered every client with
"503 Service Unavailable", the grabber retried forever). Checked here, it is one line naming the element
and the Debian package that provides it. Stdlib only: the grabber image has no pip packages.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Callable

#: Debian 12 package of each element the grabber, the emulator and their tests use
#: (checked against ``dpkg -S`` of each plugin file by tests/gst_grabber/test_preflight.py).
ELEMENT_PACKAGES = {
    **dict.fromkeys(("filesrc", "filesink", "queue", "fakesink"), "libgstreamer1.0-0"),
    **dict.fromkeys(("decodebin", "videoconvert", "videoscale", "videorate", "videotestsrc"),
                    "gstreamer1.0-plugins-base"),
    **dict.fromkeys(("rtspsrc", "rtph264depay", "rtph265depay", "rtph264pay", "jpegenc", "multifilesink",
                     "mp4mux"), "gstreamer1.0-plugins-good"),
    **dict.fromkeys(("avdec_h264", "avdec_h265"), "gstreamer1.0-libav"),
    **dict.fromkeys(("intervideosink", "intervideosrc"), "gstreamer1.0-plugins-bad"),
    "x264enc": "gstreamer1.0-plugins-ugly",
    "timeoverlay": "gstreamer1.0-x",
}
GST_TOOLS_PACKAGE = "gstreamer1.0-tools"


class MissingElement(RuntimeError):
    """An element (or the GStreamer tool) is not installed; the message is the one line to show."""


def element_names(tokens: Sequence[str]) -> list[str]:
    """Element factory names in a gst-launch description: the first token of each link that is neither
    caps (they hold '/') nor a property (key=value), nor a bin's brackets."""
    names: list[str] = []
    expect_element = True
    for token in tokens:
        if token in ("!", "(", ")"):
            expect_element = True
            continue
        if expect_element and "/" not in token and "=" not in token and token not in names:
            names.append(token)
        expect_element = False
    return names


def launch_elements(description: str) -> list[str]:
    """``element_names`` of a gst-launch/parse_launch text (quoted values stay one token)."""
    return element_names(shlex.split(description))


def describe_missing(elements: Sequence[str]) -> str:
    """One line naming each missing element, its Debian package, and the apt-get command that installs them."""
    named = ", ".join(f"'{e}' (Debian package {ELEMENT_PACKAGES.get(e, 'unknown')})" for e in elements)
    packages = sorted({ELEMENT_PACKAGES[e] for e in elements if e in ELEMENT_PACKAGES})
    fix = f"apt-get install {' '.join(packages)}" if packages else "install the GStreamer plugin that provides it"
    return f"missing GStreamer element{'s' if len(elements) > 1 else ''} {named}: {fix}"


def gst_inspect_exists(gst_launch: str = "gst-launch-1.0") -> Callable[[str], bool]:
    """An ``exists(element)`` test by ``gst-inspect-1.0 --exists`` (the one beside ``gst_launch`` first)."""
    launch = shutil.which(gst_launch)
    beside = Path(launch).with_name("gst-inspect-1.0") if launch else None
    inspect = str(beside) if beside and beside.is_file() else shutil.which("gst-inspect-1.0")
    if launch is None or inspect is None:
        tool = gst_launch if launch is None else "gst-inspect-1.0"
        raise MissingElement(f"{tool} not found (Debian package {GST_TOOLS_PACKAGE}): "
                             f"apt-get install {GST_TOOLS_PACKAGE}")

    def exists(element: str) -> bool:
        return subprocess.run([inspect, "--exists", element], stdin=subprocess.DEVNULL, timeout=60).returncode == 0

    return exists


def missing_elements(elements: Iterable[str], exists: Callable[[str], bool]) -> list[str]:
    return [element for element in elements if not exists(element)]


def require_elements(elements: Iterable[str], exists: Callable[[str], bool]) -> None:
    """Raises :class:`MissingElement` naming every element ``exists`` does not find."""
    missing = missing_elements(elements, exists)
    if missing:
        raise MissingElement(describe_missing(missing))
