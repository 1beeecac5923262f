"""``count_from: tracks``: the message's count is the confirmed tracks seen in the frame, weak boxes included."""

from __future__ import annotations

import numpy as np
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.message import build_message
from count_people.tracking.hook import LinesAndZones

IMAGE = np.zeros((480, 640, 3), np.uint8)


def walker(x: float, score: float) -> Detection:
    return Detection("person", score, (x - 20.0, 200.0, x + 20.0, 300.0))


def counts(mode: str, frames: list[list[Detection]], hold_s: float = 0.0, fps: float = 25.0) -> list[int]:
    settings = Settings().updated({"count_from": mode, "threshold": 0.1, "tracker_high_threshold": 0.5,
                                   "tracker_confirm_s": 0.04, "count_hold_s": hold_s})
    hook = LinesAndZones(settings)
    found = []
    for index, detections in enumerate(frames):
        message = build_message(detections=detections, classes=settings.classes, frame_size=(640, 480),
                                camera_id="c", thing_name="t",
                                capture_time=0.0, publish_time=0.0, fps=0.0, inference_ms=0.0, frame_age_ms=0.0,
                                model="m", max_boxes=10)
        hook.annotate(Frame(IMAGE, 1000.0 + index / fps, 0.0, index), detections, message)
        assert message["counts"]["person"] == message["count"]
        found.append(message["count"])
    hook.close()
    return found


def test_a_weak_box_that_continues_a_track_counts_and_a_one_frame_blip_does_not():
    strong, weak = 0.9, 0.2  # weak: above the detector threshold, below the tracker's high threshold
    frames = [
        [walker(100, strong)],
        [walker(110, strong), walker(500, strong)],  # 500: a false positive for a single frame
        [walker(120, weak)],  # partly hidden: the detector is unsure
        [walker(130, strong)],
    ]
    assert counts("detections", frames) == [1, 2, 1, 1]  # every box above threshold, blip and all
    assert counts("tracks", frames) == [0, 1, 1, 1]  # confirmed on its 2nd frame; the blip never is


def test_counting_from_detections_leaves_the_message_alone():
    frames = [[walker(100, 0.9), walker(300, 0.3)]]
    assert counts("detections", frames) == [2]


def test_a_person_missed_for_a_frame_still_counts_while_held():
    frames = [[walker(100, 0.9)], [walker(110, 0.9)], [], [walker(130, 0.9)], [], [], []]
    assert counts("tracks", frames, hold_s=0) == [0, 1, 0, 1, 0, 0, 0]
    assert counts("tracks", frames, hold_s=0.08) == [0, 1, 1, 1, 1, 1, 0]  # gone after 0.08 s (2 frames) unseen


def test_holding_is_a_time_so_it_means_the_same_at_every_frame_rate():
    frames = [[walker(100, 0.9)], [walker(102, 0.9)], [], [], []]
    # 0.3 s: three frames at 10 fps, but not even one interval at 2 fps
    assert counts("tracks", frames, hold_s=0.3, fps=10) == [0, 1, 1, 1, 1]
    assert counts("tracks", frames, hold_s=0.3, fps=2) == [0, 1, 0, 0, 0]


def test_fused_counts_a_strong_box_at_once_and_adds_a_weak_one_only_where_a_track_supports_it():
    strong, weak = 0.9, 0.2
    frames = [
        [walker(100, strong)],  # counted at once: no confirmation delay
        [walker(110, strong), walker(500, weak)],  # a weak box with no track: not counted
        [walker(120, weak)],  # weak, but it continues the confirmed track
    ]
    assert counts("fused", frames) == [1, 1, 1]
    assert counts("detections", frames) == [1, 2, 1]  # every box above the detector threshold (0.1)


def test_a_held_track_is_not_counted_twice_where_a_counted_box_covers_it():
    frames = [[walker(100, 0.9)], [walker(110, 0.9)], [walker(300, 0.9)], [walker(300, 0.9), walker(122, 0.9)]]
    # frame 3: the person at 110 is unseen, held for 0.2 s and counted beside the newcomer
    assert counts("fused", frames, hold_s=0.2) == [1, 1, 2, 2]
