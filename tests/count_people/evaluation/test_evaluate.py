"""``count-people evaluate`` on real footage: the accuracy docs/content/how-to/detectors.md promises for each model."""

from __future__ import annotations

import json
import shutil

import pytest
from count_people.cli import main
from support import shared_path
from yolo_models import body_model, coco_model

SEQUENCES = ["TUD-Campus", "TUD-Stadtmitte"]


def evaluate(capsys, settings: dict, *extra: str) -> dict:
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
    assert main(["evaluate", "--json", "--log-level", "WARNING", *flags, *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.shared
@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize(("model", "limit"), [(body_model, 1.0), (coco_model, 1.2)], ids=["body", "coco"])
def test_count_mae_within_the_acceptance_limit(capsys, sequence, model, limit):
    video = shared_path(f"footage/{sequence}/{sequence}.mp4")
    result = evaluate(capsys, {**model(), "source": video, "min_box_height": 0.2})  # the labels' smallest person
    assert set(result) == {"frames", "mae", "rmse", "mean_true", "mean_predicted", "precision", "recall", "fps"}
    assert result["frames"] == {"TUD-Campus": 71, "TUD-Stadtmitte": 179}[sequence]
    assert result["mae"] <= limit
    assert result["precision"] > 0.7 and result["recall"] > 0.6


@pytest.mark.shared
def test_ground_truth_of_another_resolution_is_scaled(capsys, tmp_path):
    """Ground truth at twice the video's size, as seqinfo.ini says, gives the same numbers."""
    folder = shared_path("footage/TUD-Campus")
    (tmp_path / "gt").mkdir()
    lines = []
    for line in (folder / "gt" / "gt.txt").read_text().splitlines():
        fields = line.split(",")
        fields[2:6] = [str(float(value) * 2) for value in fields[2:6]]
        lines.append(",".join(fields))
    (tmp_path / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nimWidth=1280\nimHeight=960\n")
    shutil.copy(folder / "TUD-Campus.mp4", tmp_path / "video.mp4")
    settings = {**body_model(), "source": tmp_path / "video.mp4"}
    scaled = evaluate(capsys, settings, "--every", "5")
    original = evaluate(capsys, {**settings, "source": folder / "TUD-Campus.mp4"}, "--every", "5")
    assert scaled["frames"] == original["frames"] == 15
    for key in ("mae", "precision", "recall"):
        assert scaled[key] == pytest.approx(original[key])
    (tmp_path / "seqinfo.ini").unlink()  # without it the boxes stay at 1280x960: nothing matches
    assert evaluate(capsys, settings, "--every", "5")["recall"] < 0.2


def test_evaluate_rejects_a_frame_file_source(capsys, tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt.txt").write_text("1,1,0,0,1,1,1\n")
    assert main(["evaluate", "--source", str(tmp_path / "frame.jpg")]) == 2
    assert "needs a video file or a folder of images" in capsys.readouterr().err


@pytest.mark.shared
def test_rates_give_a_table_per_count_mode_and_rate(capsys):
    video = shared_path("footage/TUD-Campus/TUD-Campus.mp4")
    (table,) = evaluate(capsys, {**body_model(), "source": video}, "--rates=1,5,25").values()
    assert set(table) == {"detections", "smoothed", "tracks", "fused", "auto"}
    assert set(table["detections"]) == {"1.0", "5.0", "25.0"}
    # every frame is evaluated once at whole steps, and a detection count does not depend on its neighbours
    assert table["detections"]["1.0"] == table["detections"]["5.0"] == table["detections"]["25.0"]
    assert table["tracks"]["1.0"] > table["tracks"]["25.0"]  # 1 s apart, tracks are rarely confirmed
