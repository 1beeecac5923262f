"""Privacy of the pictures the live view serves: people are pixelated before a frame leaves the process.

Nothing in the messages identifies a person, but a frame shows faces. ``privacy`` chooses what leaves:

* ``blur_people``: every detected box (all counted classes, grown by ``GROW`` on each side) pixelated into
  blocks of about an eighth of the box, too coarse for a face; the default whenever the live view is
  reachable beyond loopback (``auto`` with a non-loopback ``http_host``).
* ``boxes_only``: the whole frame pixelated, the boxes and counts drawn over it (nobody is recognisable,
  including people the detector missed in this frame).
* ``off``: the frame as captured (``auto`` on a loopback ``http_host``, or set explicitly).

Only frames that are served are treated, on the HTTP thread, once per frame (the live view caches the
JPEG): the counting path never pays for it. Cost per 640x480 frame in docs/content/how-to/analytics.md.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.observability.auth import is_loopback

#: Fraction of a box's size added on each side: a box cut at the chin or a shoulder still covers the face.
GROW = 0.1
#: Blocks across the longer side of a pixelated box, and across the whole frame for ``boxes_only``.
BOX_BLOCKS, FRAME_BLOCKS = 8, 24


def privacy_mode(settings: Settings) -> str:
    """``settings.privacy`` with ``auto`` decided by where the HTTP server listens."""
    if settings.privacy != "auto":
        return settings.privacy
    return "off" if is_loopback(settings.http_host) else "blur_people"


def _pixelate(region: np.ndarray, blocks: int) -> None:
    """Replace ``region`` (a view) in place by ``blocks`` blocks across its longer side."""
    height, width = region.shape[:2]
    scale = max(height, width) / blocks
    small = cv2.resize(region, (max(1, round(width / scale)), max(1, round(height / scale))),
                       interpolation=cv2.INTER_AREA)
    region[:] = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def protect(image: np.ndarray, detections: Sequence[Detection], mode: str) -> np.ndarray:
    """``image`` as it may leave the process under ``mode``: a copy when anything is hidden, else itself."""
    if mode == "off":
        return image
    out = image.copy()
    if mode == "boxes_only":
        _pixelate(out, FRAME_BLOCKS)
        return out
    height, width = out.shape[:2]
    for det in detections:
        x0, y0, x1, y1 = det.box
        grow_x, grow_y = (x1 - x0) * GROW, (y1 - y0) * GROW
        left, top = max(0, int(x0 - grow_x)), max(0, int(y0 - grow_y))
        right, bottom = min(width, int(np.ceil(x1 + grow_x))), min(height, int(np.ceil(y1 + grow_y)))
        if right > left and bottom > top:
            _pixelate(out[top:bottom, left:right], BOX_BLOCKS)
    return out
