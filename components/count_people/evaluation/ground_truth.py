"""MOTChallenge ground truth: ``gt/gt.txt`` boxes per frame and the ``seqinfo.ini`` image size and frame rate."""

from __future__ import annotations

import configparser
from collections import defaultdict
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from count_people.errors import UserError


def read_rows(path: str | Path) -> Iterator[tuple[int, int, tuple[float, float, float, float]]]:
    """(frame from 1, track id, (x0, y0, x1, y1) in ground-truth pixels) of every box to count.

    Lines are ``frame,id,left,top,width,height,conf,...``; MOT16+ marks boxes to ignore with
    conf 0, so those are left out (MOT15 uses 1 or -1 throughout).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read ground truth {str(path)!r}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            fields = [float(value) for value in line.split(",")[:7]]
            frame, track, left, top, width, height, conf = fields
        except ValueError:
            raise UserError(
                f"{path}:{number}: expected frame,id,left,top,width,height,conf,... (MOTChallenge gt.txt)"
            ) from None
        if conf != 0:
            yield int(frame), int(track), (left, top, left + width, top + height)


def load_ground_truth(path: str | Path) -> dict[int, np.ndarray]:
    """Frame number (from 1) -> (N, 4) float boxes x0, y0, x1, y1 in ground-truth pixels.

    A frame without rows has no people, so it is simply absent.
    """
    rows: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for frame, _, box in read_rows(path):
        rows[frame].append(box)
    return {frame: np.array(boxes, dtype=np.float32) for frame, boxes in rows.items()}


def load_tracks(path: str | Path) -> dict[int, list[tuple[int, tuple[float, float, float, float]]]]:
    """Track id -> [(frame, box)] in frame order: what true line crossings are computed from."""
    tracks: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = defaultdict(list)
    for frame, track, box in read_rows(path):
        tracks[track].append((frame, box))
    return {track: sorted(rows) for track, rows in tracks.items()}


def _sequence(seqinfo: str | Path) -> Mapping[str, str]:
    """The ``[Sequence]`` section of ``seqinfo.ini``; empty when the file or the section is missing."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(seqinfo, encoding="utf-8")
    except configparser.Error:
        return {}
    return parser["Sequence"] if parser.has_section("Sequence") else {}


def image_size(seqinfo: str | Path) -> tuple[int, int] | None:
    """(width, height) of the ground truth's images from ``seqinfo.ini``, None if it says nothing."""
    sequence = _sequence(seqinfo)
    try:
        return int(sequence["imWidth"]), int(sequence["imHeight"])
    except (KeyError, ValueError):
        return None


def frame_rate(seqinfo: str | Path) -> float | None:
    """Frames per second of the sequence from ``seqinfo.ini``, None if it says nothing."""
    try:
        return float(_sequence(seqinfo)["frameRate"]) or None
    except (KeyError, ValueError):
        return None


def scale_to_frame(truth: dict[int, np.ndarray], truth_size: tuple[int, int] | None,
                   frame_size: tuple[int, int]) -> dict[int, np.ndarray]:
    """Ground-truth boxes in the pixels of the frames actually evaluated (a re-encoded, resized video)."""
    if truth_size is None or truth_size == frame_size:
        return truth
    factor = np.array([frame_size[0] / truth_size[0], frame_size[1] / truth_size[1]] * 2, dtype=np.float32)
    return {frame: boxes * factor for frame, boxes in truth.items()}
