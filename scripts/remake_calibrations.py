#!/usr/bin/env python3
"""Remake the shipped counting calibrations of the catalog's models (components/count_people/detectors/calibrations).

For each model in ../shared/models, ``count-people calibrate --tune`` on every labelled sequence: TUD-Campus and
TUD-Stadtmitte (their MOTChallenge ground truth) and one-by-one-person-detection.mp4 (our labels, in
scripts/labels, laid beside the video in a temporary folder as MOTChallenge expects), each held out in turn,
with the scene setting ``min_box_height`` 0.2 (the labels count people from about a quarter of the frame height
up). Models are linked into a temporary folder so ``--write`` never writes into ../shared; each file is then
copied to the shipped folder with the command that made it. The held-out tables: scripts/calibration_tables.py.

    .venv/bin/python scripts/remake_calibrations.py [--shared ../shared] [--only yolox_nano_416_coco.onnx ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from count_people.cli import main as count_people
from count_people.detectors.calibration import SHIPPED, beside

LABELS = Path(__file__).with_name("labels")
MIN_BOX_HEIGHT = "0.2"
#: Model file: (folder in ../shared/models, detector, weights file or None).
MODELS = {
    "yolo-fastest-1.1_body.cfg": ("yolo-fastest", "opencv", "yolo-fastest-1.1_body.weights"),
    "yolo-fastest-1.1.cfg": ("yolo-fastest", "opencv", "yolo-fastest-1.1.weights"),
    "yolo-fastest-1.1-xl.cfg": ("yolo-fastest", "opencv", "yolo-fastest-1.1-xl.weights"),
    "yolox_nano_416_coco.onnx": ("yolox-nano", "onnxruntime", None),
    "nanodet_m_416_coco.onnx": ("nanodet-m", "onnxruntime", None),
}


def sequences(shared: Path, work: Path) -> list[Path]:
    """The labelled videos, each with gt/gt.txt and seqinfo.ini beside it."""
    videos = [shared / "footage" / name / f"{name}.mp4" for name in ("TUD-Campus", "TUD-Stadtmitte")]
    for labels in sorted(p for p in LABELS.glob("*") if p.is_dir()):
        folder = work / "footage" / labels.name
        shutil.copytree(labels, folder)
        (folder / f"{labels.name}.mp4").symlink_to((shared / "footage" / f"{labels.name}.mp4").resolve())
        videos.append(folder / f"{labels.name}.mp4")
    return videos


def remake(model: str, shared: Path, work: Path, videos: list[Path]) -> None:
    folder, detector, weights = MODELS[model]
    linked = work / "models" / model
    linked.parent.mkdir(parents=True, exist_ok=True)
    for source in (shared / "models" / folder).iterdir():  # the model, its weights and its labels
        if not (linked.parent / source.name).exists():
            (linked.parent / source.name).symlink_to(source.resolve())
    args = ["--detector", detector, "--model", str(linked), *(["--params", str(linked.parent / weights)]
                                                             if weights else []),
            "--min-box-height", MIN_BOX_HEIGHT, "--tune", *map(str, videos), "--split", "sequences", "--write"]
    if count_people(["calibrate", *args]) != 0:
        raise SystemExit(f"calibrate failed for {model}")
    data = json.loads(beside(str(linked)).read_text(encoding="utf-8"))
    data["command"] = "count-people calibrate " + " ".join(Path(a).name if "/" in a else a for a in args)
    (SHIPPED / f"{model}.calibration.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{model}: written to {SHIPPED / (model + '.calibration.json')}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--only", nargs="+", choices=sorted(MODELS), default=sorted(MODELS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        videos = sequences(args.shared, work)
        for model in args.only:
            remake(model, args.shared, work, videos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
