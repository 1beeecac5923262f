"""Heartbeat/status JSON next to the frame: lets health checks and the counter see the grabber's state.

Written atomically (temporary file + rename) like the frame, at least once per second while running.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from frame_handoff import STARTING


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class GrabberStatus:
    camera: str  # masked URL
    frame_path: str
    state: str = STARTING  # one of frame_handoff.GRABBER_STATES
    attempt: int = 0
    restarts: int = 0
    last_frame_unix: float | None = None
    last_error: str | None = None
    pid: int = field(default_factory=os.getpid)
    camera_id: str | None = None  # the id in a cameras list (None: the single-camera form)
    cpu_percent: float | None = None  # this camera's gst-launch over the last interval, % of one core

    def to_json(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        data = asdict(self)
        data.update(
            last_frame_at=_iso(self.last_frame_unix),
            last_frame_age_s=None if self.last_frame_unix is None else round(now - self.last_frame_unix, 3),
            updated_at=_iso(now),
            updated_unix=now,
        )
        return json.dumps(data, indent=1, sort_keys=True)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
