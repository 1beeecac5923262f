"""Line-crossing evaluation: truth from ground-truth track ids, and the acceptance run on real footage."""

from __future__ import annotations

import json

import pytest
from count_people.cli import main
from count_people.evaluation.crossings import true_crossings
from count_people.evaluation.ground_truth import load_tracks
from count_people.geometry import LineSpec
from support import body_model_args, shared_path

MIDDLE = {"middle": [[0.5, 1.0], [0.5, 0.0]]}  # vertical, "in" = left to right


def test_true_crossings_follow_each_ground_truth_track(tmp_path):
    rows = []
    for frame in range(1, 11):
        rows.append(f"{frame},1,{200 + 20 * frame},100,40,100,1,-1,-1,-1")  # walks right over x = 320
        rows.append(f"{frame},2,{400 - 20 * frame},300,40,100,1,-1,-1,-1")  # walks left over it, lower
        rows.append(f"{frame},3,{280 + 30 * (frame % 2)},100,40,100,0,-1,-1,-1")  # ignored (conf 0)
    rows.append("12,1,600,100,40,100,1,-1,-1,-1")  # id 1 after a gap: no crossing of its own
    gt = tmp_path / "gt.txt"
    gt.write_text("\n".join(rows) + "\n")
    tracks = load_tracks(gt)
    assert sorted(tracks) == [1, 2] and [f for f, _ in tracks[1]] == [*range(1, 11), 12]
    line = LineSpec("middle", ((0.5, 1.0), (0.5, 0.0)))
    assert true_crossings(tracks, line, (640, 480)) == {"in": 1, "out": 1}
    upper = LineSpec("upper", ((0.5, 0.5), (0.5, 0.0)))  # only id 1's feet (y = 200) pass through it
    assert true_crossings(tracks, upper, (640, 480)) == {"in": 1}


@pytest.mark.shared
@pytest.mark.parametrize("sequence", ["TUD-Campus", "TUD-Stadtmitte"])
def test_counted_crossings_are_within_one_of_the_truth_on_real_footage(sequence, capsys):
    video = shared_path(f"footage/{sequence}/{sequence}.mp4")
    code = main(["evaluate", "--json", "--source", str(video), *body_model_args(0.4), "--lines", json.dumps(MIDDLE)])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    middle = result["crossings"]["middle"]
    print(sequence, middle)
    assert sum(middle[d]["truth"] for d in ("in", "out")) >= 2, "the line should see real traffic"
    for direction in ("in", "out"):
        assert abs(middle[direction]["counted"] - middle[direction]["truth"]) <= 1, (direction, middle)
