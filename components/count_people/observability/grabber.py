"""The grabber's status file (written by gst_grabber beside the frame), read for metrics and /healthz.

The grabber rewrites ``<frame stem>.status.json`` atomically at least once per second with
its state, restart count and last frame time; reading it keeps the two components decoupled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: States the grabber reports (gst_grabber.status.GrabberStatus.state).
GRABBER_STATES = ("starting", "running", "backoff", "stopped")


def status_path(source: str, configured: str = "") -> Path:
    """The configured path, else the grabber's default: ``<frame stem>.status.json`` beside the frame."""
    if configured:
        return Path(configured)
    frame = Path(source)
    return frame.with_name(frame.stem + ".status.json")


class GrabberStatusFile:
    """Latest parsed status; re-read only when the file changed, None while absent or unreadable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None
        self._data: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            self._identity, self._data = None, None
            return None
        identity = (st.st_ino, st.st_mtime_ns)
        if identity != self._identity:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return self._data  # replaced between stat and read: keep the previous version
            self._identity, self._data = identity, data if isinstance(data, dict) else None
        return self._data
