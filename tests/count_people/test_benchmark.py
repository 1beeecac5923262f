"""``count-people bench``: forward alone vs end to end through the frame file, per stage."""

from __future__ import annotations

import json

import pytest
from count_people.cli import main
from gluoncv_params import FAST_GLUONCV_MODEL
from support import shared_path
from yolo_models import body_model

STAGES = {"read_decode", "preprocess", "forward", "postprocess", "publish"}


def bench(capsys, settings: dict, *extra: str) -> dict:
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
    assert main(["bench", "--json", "--log-level", "WARNING", *flags, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def check_consistent(result: dict) -> None:
    stages = result["stages_ms"]
    assert set(stages) == STAGES and all(value > 0 for value in stages.values())
    # The stages are the end-to-end path, minus only the CountingLoop's own bookkeeping.
    assert 0.8 * result["end_to_end_ms"] <= sum(stages.values()) <= result["end_to_end_ms"] * 1.01
    assert result["fps"] == pytest.approx(1000 / result["end_to_end_ms"], rel=0.01)
    assert result["peak_rss_mb"] > 10


@pytest.mark.shared
def test_body_model_end_to_end_on_a_real_frame(capsys):
    video = shared_path("footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")
    result = bench(capsys, body_model(), "--image", str(video), "--size", "640x480", "--frames", "50")
    assert result["frame_size"] == [640, 480] and result["frames"] == 50
    check_consistent(result)  # the speed itself is a printed figure (count-people bench), not a timed assertion


def test_gluoncv_stages(capsys, fast_params):
    result = bench(capsys, {"detector": "gluoncv", "model": FAST_GLUONCV_MODEL, "params": fast_params},
                   "--frames", "3", "--warmup", "1")
    assert result["frame_size"] == [640, 480]
    check_consistent(result)
    assert result["stages_ms"]["forward"] > result["stages_ms"]["postprocess"]
