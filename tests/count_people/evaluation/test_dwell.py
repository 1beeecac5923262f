"""Dwell-time evaluation: truth from ground-truth tracks, the histogram error, and the run on real footage."""

from __future__ import annotations

import json

import pytest
from count_people.cli import main
from count_people.evaluation.dwell import histogram_error, true_visits
from count_people.evaluation.ground_truth import load_tracks
from count_people.geometry import ZoneSpec
from support import body_model_args, shared_path

HALVES = {"left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "right": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}


def test_true_visits_run_from_the_first_to_the_last_frame_inside(tmp_path):
    rows = [f"{frame},1,{100 + 20 * frame},100,40,100,1,-1,-1,-1" for frame in range(1, 21)]  # feet x 120+20f
    rows += [f"{frame},2,100,100,40,100,1,-1,-1,-1" for frame in (1, 2, 5)]  # inside, gap, inside: one visit
    rows += ["3,3,500,100,40,100,1,-1,-1,-1"]  # never inside
    (tmp_path / "gt.txt").write_text("\n".join(rows) + "\n")
    tracks = load_tracks(tmp_path / "gt.txt")
    left = ZoneSpec("left", ((0, 0), (0.5, 0), (0.5, 1), (0, 1)))
    # id 1's feet are left of x = 320 up to frame 9 (x = 300): 9 - 1 = 8 frames at 4 fps
    assert sorted(true_visits(tracks, left, (640, 480), 4.0)) == [1.0, 2.0]


def test_histogram_error_is_the_total_variation_distance():
    assert histogram_error([2, 2, 0], [4, 4, 0]) == 0.0, "same shape, twice the visits"
    assert histogram_error([1, 0], [0, 1]) == 1.0
    assert histogram_error([1, 1], [1, 0]) == 0.5
    assert histogram_error([0, 0], [0, 0]) == 0.0 and histogram_error([0, 0], [1, 0]) == 1.0


@pytest.mark.shared
@pytest.mark.parametrize("sequence", ["TUD-Campus", "TUD-Stadtmitte"])
def test_evaluate_zones_reports_dwell_error_on_real_footage(sequence, capsys):
    """The numbers are in docs/content/how-to/analytics.md: mean within 30 %, histograms within 0.3."""
    video = shared_path(f"footage/{sequence}/{sequence}.mp4")
    code = main(["evaluate", "--json", "--source", str(video), *body_model_args(0.4), "--zones", json.dumps(HALVES),
                 "--dwell-buckets", "1,2,4"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for zone, dwell in result["dwell"].items():
        print(sequence, zone, dwell)
        assert dwell["truth"]["count"] >= 5, "the zone should see real visits"
        assert abs(dwell["mean_error_s"]) <= 0.3 * dwell["truth"]["mean_s"], (zone, dwell)
        assert dwell["histogram_error"] <= 0.3, (zone, dwell)
        assert len(dwell["truth"]["histogram"]) == len(dwell["counted"]["histogram"]) == 4
