"""Privacy of served pictures: beyond loopback no person pixel leaves /frame.jpg unpixelated, by default."""

from __future__ import annotations

import time
import urllib.request
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from count_people.config import Settings
from count_people.detectors.base import Detection
from count_people.frames.base import Frame
from count_people.message import build_message
from count_people.observability.hub import Observability
from count_people.observability.liveview import LiveView
from count_people.observability.privacy import GROW, privacy_mode, protect
from support import free_port, wait_for

TOKEN = "s3cret-viewer"
#: Two people; the frame is noise, so any pixel that leaves as it was correlates with the original.
PEOPLE = [Detection("person", 0.9, (100.0, 80.0, 180.0, 400.0)), Detection("person", 0.6, (400.0, 150.0, 470.0, 420.0))]


def noise_frame() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (480, 640, 3), np.uint8)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1])


def served(settings: Settings, image: np.ndarray) -> np.ndarray:
    """The /frame.jpg a viewer gets (with the token) after the counter saw ``image`` with ``PEOPLE``."""
    hub = Observability(settings)
    loop = SimpleNamespace(settings=settings, detector=None, source=None, publisher=None, frames_processed=0,
                           frames_overtaken=0)
    live = next(hook for hook in hub.create_hooks(loop) if isinstance(hook, LiveView))
    message = build_message(camera_id="c", thing_name="t", classes=("person",), detections=PEOPLE,
                            frame_size=(640, 480), capture_time=time.time(), publish_time=time.time(), fps=1.0,
                            inference_ms=1.0, frame_age_ms=1.0, model="m", max_boxes=100)
    live.observe(Frame(image, time.time(), 0.0, 1), PEOPLE, message)
    request = urllib.request.Request(f"http://127.0.0.1:{settings.http_port}/frame.jpg",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        body = wait_for(lambda: urllib.request.urlopen(request, timeout=5).read(), 10, what="/frame.jpg")
    finally:
        hub.close()
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)


def inner(box: tuple[float, ...], pad: int = 6) -> tuple[slice, slice]:
    """The box's pixels, less the drawn outline."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return slice(y0 + pad, y1 - pad), slice(x0 + pad, x1 - pad)


def grown_ring(box: tuple[float, ...]) -> tuple[slice, slice]:
    """The strip just left of the box that GROW also covers (a face cut by the box's edge)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return slice(y0 + 6, y1 - 6), slice(int(x0 - GROW * (x1 - x0)) + 1, x0 - 3)


def test_beyond_loopback_no_person_pixel_leaves_unpixelated_by_default():
    settings = Settings().updated({"http_host": "0.0.0.0", "http_port": free_port(), "http_token": TOKEN})
    assert settings.privacy == "auto" and privacy_mode(settings) == "blur_people"
    image = noise_frame()
    frame = served(settings, image)
    for person in PEOPLE:
        for region in (inner(person.box), grown_ring(person.box)):
            assert abs(correlation(frame[region], image[region])) < 0.15, "person pixels left as they were"
    assert correlation(frame[20:60, 250:350], image[20:60, 250:350]) > 0.5, "the rest of the scene is shown"


def test_privacy_off_must_be_explicit_and_loopback_defaults_to_it():
    image = noise_frame()
    for changes in ({"http_host": "0.0.0.0", "http_token": TOKEN, "privacy": "off"}, {"http_host": "127.0.0.1"}):
        settings = Settings().updated({**changes, "http_port": free_port()})
        assert privacy_mode(settings) == "off"
        frame = served(settings, image)
        region = inner(PEOPLE[0].box)
        assert correlation(frame[region], image[region]) > 0.5


def test_boxes_only_hides_everyone_even_those_not_detected():
    image = noise_frame()
    out = protect(image, [], "boxes_only")
    assert abs(correlation(out, image)) < 0.2 and (image == noise_frame()).all(), "a copy, the frame untouched"
    assert protect(image, PEOPLE, "off") is image


@pytest.mark.parametrize("mode", ["blur_people", "boxes_only"])
def test_live_view_serves_no_frame_encoded_under_the_old_mode(mode):
    settings = Settings().updated({"http_host": "127.0.0.1"})
    live = LiveView(settings)
    image = noise_frame()
    live.observe(Frame(image, 1.0, 0.0, 1), PEOPLE, {"capture_time": 1.0, "count": 2})
    before = cv2.imdecode(np.frombuffer(live.frame_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    live.reconfigure(settings.updated({"privacy": mode}))
    after = cv2.imdecode(np.frombuffer(live.frame_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    region = inner(PEOPLE[0].box)
    assert correlation(before[region], image[region]) > 0.5 and abs(correlation(after[region], image[region])) < 0.15
