"""``precision: auto``: measure FP32 against INT8 on this CPU, and keep the fastest that agrees with FP32.

INT8's gain depends on the CPU's instructions (AVX-512 VNNI or AMX on recent Xeons, AVX2 only on
AMD EPYC and older Xeons, NEON dot-product on ARM64), so it is measured, not assumed: both run
the production path (``detect``) alternately on ``PROBE_FRAMES`` real frames after one warm-up
each, and INT8 is chosen only when it is faster and its boxes agree with FP32's: F1 of one-to-one
matches (same label, IoU >= 0.5) of at least ``AGREEMENT_TOLERANCE`` over the probe frames. The
result is cached per CPU model and model in ``model_cache``, so a restart decides at once.

The counter never waits for the slow part: it counts in FP32 from the start while ``measure``
calibrates INT8 on a background thread (``loop/scheduler.py``), pauses for the few seconds of
timing only (counting beside it would slow both and blur the ratio), then switches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from count_people.config import Settings
from count_people.detectors import create_detector
from count_people.detectors.base import Detection, Detector
from count_people.detectors.int8 import calibration_images
from count_people.geometry import count_matches

log = logging.getLogger("count_people.detectors.precision")

#: Minimum F1 of INT8's boxes against FP32's (same label, IoU >= 0.5) for INT8 to be chosen.
AGREEMENT_TOLERANCE = 0.9
PROBE_FRAMES = 5
#: CPU flags that decide INT8 speed, reported with the choice.
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni", "avx512f", "avx2", "asimddp")


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``precision: auto`` measured on this CPU and chose."""

    precision: str
    cpu: str
    fp32_ms: float
    int8_ms: float | None = None
    agreement: float | None = None
    reason: str = ""

    @property
    def speedup(self) -> float | None:
        """INT8 over FP32 (> 1: INT8 faster), None when INT8 could not run."""
        return self.fp32_ms / self.int8_ms if self.int8_ms else None


def cpu_model() -> str:
    """The CPU's model name and its INT8-relevant instruction sets, e.g. "Intel(R) Xeon(R) ... [avx512_vnni avx2]"."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
    except OSError:
        pass
    return f"{name} [{' '.join(f for f in INT8_FLAGS if f in flags)}]"


def cache_file(settings: Settings, int8_entry: Path) -> Path:
    """Where the choice for this CPU model and this INT8 model (its cache key) is kept."""
    key = hashlib.sha256(f"{cpu_model()}\n{int8_entry.name}".encode()).hexdigest()[:16]
    return Path(settings.model_cache) / f"precision-{key}.json"


def agreement(fp32: Sequence[Sequence[Detection]], int8: Sequence[Sequence[Detection]]) -> float:
    """F1 of INT8's boxes against FP32's over the frames (1.0 when neither finds anything)."""
    matched = found = reference = 0
    for ours, theirs in zip(int8, fp32):
        found += len(ours)
        reference += len(theirs)
        for label in {d.label for d in ours} | {d.label for d in theirs}:
            matched += count_matches(np.array([d.box for d in ours if d.label == label]).reshape(-1, 4),
                                     np.array([d.box for d in theirs if d.label == label]).reshape(-1, 4))
    return 1.0 if found + reference == 0 else 2 * matched / (found + reference)


def time_both(fp32: Detector, int8: Detector, frames: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """(FP32 ms, INT8 ms per frame, agreement), alternating frame by frame so both see the same load."""
    fp32.detect(frames[0])
    int8.detect(frames[0])  # warm-up: graph building, oneDNN weight reorders
    spent = {"fp32": 0.0, "int8": 0.0}
    found: dict[str, list[list[Detection]]] = {"fp32": [], "int8": []}
    for frame in frames:
        for name, detector in (("fp32", fp32), ("int8", int8)):
            started = time.perf_counter()
            found[name].append(detector.detect(frame))
            spent[name] += time.perf_counter() - started
    return (spent["fp32"] * 1000 / len(frames), spent["int8"] * 1000 / len(frames),
            agreement(found["fp32"], found["int8"]))


def read_cached(path: Path) -> PrecisionChoice | None:
    try:
        return PrecisionChoice(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_cached(path: Path, choice: PrecisionChoice) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(choice), handle)
    os.replace(temporary, path)


def measure(settings: Settings, fp32: Detector, exclusive: AbstractContextManager | None = None
            ) -> tuple[Detector | None, PrecisionChoice]:
    """The INT8 detector to switch to (None: stay on ``fp32``) and the choice; slow the first time on a CPU
    model (INT8 calibration, then timing), a cache read afterwards. The timing (seconds) runs inside
    ``exclusive``, which pauses the counting so the two do not share the cores; the calibration does not."""
    entry_of = getattr(fp32, "int8_entry", None)
    cpu = cpu_model()
    if entry_of is None:
        return None, PrecisionChoice("fp32", cpu, 0.0, reason=f"{settings.detector} runs FP32 only")
    path = cache_file(settings, entry_of())
    cached = read_cached(path)
    if cached is not None and cached.precision == "fp32":
        return None, cached
    int8 = create_detector(settings.updated({"precision": "int8"}))
    int8.load()  # calibrates and caches the INT8 model the first time
    int8.check_classes(settings.classes)
    if int8.precision != "int8":
        return None, PrecisionChoice("fp32", cpu, 0.0, reason="INT8 could not be made here (warning above)")
    if cached is not None:
        return int8, cached
    frames = calibration_images(settings.calibration_source or settings.source, PROBE_FRAMES)
    with exclusive or contextlib.nullcontext():
        fp32_ms, int8_ms, agreed = time_both(fp32, int8, frames)
    if agreed < AGREEMENT_TOLERANCE:
        choice = PrecisionChoice("fp32", cpu, fp32_ms, int8_ms, agreed,
                                 f"INT8 boxes agree with FP32's at F1 {agreed:.2f} < {AGREEMENT_TOLERANCE}")
    elif int8_ms >= fp32_ms:
        choice = PrecisionChoice("fp32", cpu, fp32_ms, int8_ms, agreed, "INT8 is not faster on this CPU")
    else:
        choice = PrecisionChoice("int8", cpu, fp32_ms, int8_ms, agreed, "fastest within the agreement tolerance")
    write_cached(path, choice)
    return (int8 if choice.precision == "int8" else None), choice
