"""Dwell time per zone: a visit from entry to exit, counted once however its track jitters on the border."""

from __future__ import annotations

from count_people.analytics.dwell import DwellConfig, ZoneDwell
from count_people.analytics.hook import Analytics
from count_people.geometry import parse_zones
from count_people.tracking.tracker import Track
from scripted_analytics import Camera, Clock, analytics_settings, person

LEFT = {"left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}  # x < 320 px; a person box is 40 px wide: band 10 px
#: In from the right, 10 frames jittering 8 px either side of the border, 5 frames well inside, out again.
JITTER = [440, 380, *[312, 328] * 5, 260, 200, 200, 200, 260, 312, 328, 312, 380, 440]


def visits(path: list[float], margin: float = 0.25) -> list[list[float]]:
    """Completed visits per frame of one track following ``path`` (x of its feet), one frame a second."""
    (spec,) = parse_zones({"left": {"polygon": LEFT["left"], "margin": margin}})
    dwell = ZoneDwell(spec, DwellConfig())
    completed = []
    for second, x in enumerate(path):
        track = Track("person", person(x).box, 0.9, None, 0.0, 0.0, id=1)  # type: ignore[arg-type]
        completed.append(dwell.update([track], (640, 480), float(second)))
    return completed


def test_a_visit_jittering_on_the_border_counts_once_from_first_to_last_frame_inside():
    completed = [d for frame in visits(JITTER) for d in frame]
    first_inside, last_inside = JITTER.index(312), len(JITTER) - 1 - JITTER[::-1].index(312)
    assert completed == [float(last_inside - first_inside)]


def test_without_the_margin_the_same_jitter_splits_the_visit():
    assert sum(len(frame) for frame in visits(JITTER, margin=0.0)) > 1


def test_a_passer_by_touching_the_border_makes_no_visit():
    assert not any(visits([440, 380, 328, 312, 328, 380, 440]))


def test_a_track_lost_inside_ends_its_visit_at_its_last_time_seen(tmp_path):
    settings = analytics_settings(tmp_path, lines={}, zones=LEFT, tracker_lost_s=3)
    analytics = Analytics(settings, Clock())
    camera = Camera(analytics, settings)
    messages = [camera.frame([person(x)], float(t)) for t, x in enumerate([350, 330, 310, 290, 270])]  # in from t 2
    dwell = messages[-1]["zones"]["left"]["dwell"]
    assert dwell == {"inside": 1, "longest_current_s": 2.0, "completed_s": []}
    after = [camera.frame([], 5.0 + t)["zones"]["left"]["dwell"] for t in range(5)]
    assert [d["completed_s"] for d in after] == [[], [], [], [2.0], []]
    assert after[-1] == {"inside": 0, "longest_current_s": 0.0, "completed_s": []}
    camera.close()
    analytics.close()
