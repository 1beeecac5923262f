"""Per-model counting calibration: thresholds, NMS and count modes measured by ``count-people calibrate``.

The file ``<model file>.calibration.json`` lives beside the model it was measured on, so it travels
with the artifact; for the catalog's models a copy ships in ``detectors/calibrations/`` (the model
files themselves are downloaded by the user). The one beside the model wins. JSON, because the
calibrate command writes it and people read it; its fields::

    {"format": 1, "model": "<file name>", "sha256": "<fingerprint(): the model (and weights) files measured>",
     "tuned_on": [...], "command": "...",
     "min_box_height": 0.2,                   # the scene setting tuned with (not applied: set it per camera)
     "nms_threshold": 0.55,                   # detectors with NMS
     "floor": 0.1,                            # detector threshold when tracks support the count
     "modes": {"detections": {"threshold": T}, "tracks": {"threshold": T, "hold_s": S, "confirm_s": S},
               "fused": {"threshold": T, "hold_s": S, "window_s": S}},
     "auto": [[0.0, "detections"], [7.5, "fused"]],   # count_from auto: mode from each frame rate up
     "held_out": {...}}                       # the evidence: the table on data not tuned on
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("count_people.detectors")

FORMAT = 1
SUFFIX = ".calibration.json"
SHIPPED = Path(__file__).with_name("calibrations")


def beside(model: str) -> Path:
    """Where the calibration of a model file is written and looked for first."""
    return Path(f"{model}{SUFFIX}")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(model: str | Path, params: str | Path | None = None) -> str | None:
    """SHA-256 of the model file, and of its weights file (Darknet ``.weights``) when separate; None for a
    zoo name."""
    if not Path(model).is_file():
        return None
    if params is None:
        return file_sha256(model)
    return hashlib.sha256(f"{file_sha256(model)}\n{file_sha256(params)}".encode()).hexdigest()


@functools.lru_cache(maxsize=32)
def load_calibration(model: str, params: str | None = None) -> dict[str, Any] | None:
    """The calibration of ``model`` (file or zoo name) with ``params``: beside the model, else shipped for its
    file name; None if none.

    A file that is unreadable, of another format, or measured on other weights (its sha256) is not
    applied, with one warning: thresholds of other weights would be guesses.
    """
    for path in (beside(model), SHIPPED / f"{Path(model).name.lower()}{SUFFIX}"):
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT or "modes" not in data:
                raise ValueError(f"not a format {FORMAT} calibration")
        except (OSError, ValueError) as exc:
            log.warning("calibration %s ignored: %s; run count-people calibrate --tune ... to remake it", path, exc)
            continue
        if data.get("sha256") and Path(model).is_file() and fingerprint(model, params) != data["sha256"]:
            log.warning("calibration %s was measured on other weights of %s (sha256 differs); not applied, so it "
                        "runs on the generic defaults until count-people calibrate --tune ... remakes it",
                        path, Path(model).name)
            continue
        return data
    return None
