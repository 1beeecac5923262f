"""The grabber's status file (written by gst_grabber beside the frame), read for metrics and /healthz.

The grabber rewrites ``<frame stem>.status.json`` atomically at least once per second with
its state, restart count and last frame time; reading it keeps the two components decoupled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from frame_handoff import GRABBER_STATES
from frame_handoff import status_path as default_status_path

__all__ = ["GRABBER_STATES", "GrabberStatusFile", "status_path"]


def status_path(source: str, configured: str = "") -> Path:
    """The configured path, else the grabber's default beside the frame (``frame_handoff.status_path``)."""
    return Path(configured) if configured else default_status_path(source)


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
