"""The grabber -> counter hand-off: where the latest frame and the grabber's status file live, and its states.

The grabber (gst_grabber) replaces the frame file atomically and rewrites the status file beside it at
least once per second; the counter (count_people) reads both. Each side imports these names from here,
so the two components agree by construction (tests/frame_handoff pins the values users rely on).
Beside it: how a configuration key is declared and guarded (``keys``) and the cameras list both components
read (``cameras``). Standard library only, so the grabber's container image carries these files as they are.
"""

from __future__ import annotations

from pathlib import Path

#: The frame folder on the host (a tmpfs, scripts/setup-frames-tmpfs.sh) and inside the grabber's container.
DEFAULT_FRAME_DIR = "/tmp/data"
DEFAULT_FRAME_NAME = "frame.jpg"
DEFAULT_FRAME_PATH = f"{DEFAULT_FRAME_DIR}/{DEFAULT_FRAME_NAME}"
STATUS_SUFFIX = ".status.json"

#: What the grabber's status file reports in ``state``, in the order a healthy start goes through them.
STARTING, RUNNING, BACKOFF, STOPPED = "starting", "running", "backoff", "stopped"
GRABBER_STATES = (STARTING, RUNNING, BACKOFF, STOPPED)


def status_path(frame_path: str | Path) -> Path:
    """The status file beside a frame file: ``<frame stem>.status.json``."""
    frame = Path(frame_path)
    return frame.with_name(frame.stem + STATUS_SUFFIX)
