"""The live view in headless Chromium: annotated frame, count and chart render from a running counter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from count_people.observability.draw import annotate
from running_counter import RunningCounter
from support import wait_for

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(url: str, *args: str, timeout: float = 90) -> str:
    """Run headless Chromium on ``url`` with a fresh profile; returns stdout (the DOM with --dump-dom)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/setup.sh does it)")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                                capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_boxes_lines_and_zones_are_drawn_on_a_copy():
    image = np.full((200, 400, 3), 90, np.uint8)
    message = {"label": "person", "count": 1,
               "boxes": [{"label": "person", "score": 0.9, "box": [0.1, 0.2, 0.3, 0.9]}],
               "lines": {"door": {"points": [[0.5, 0], [0.5, 1]], "in": {"person": 2}, "out": {"person": 1}}},
               "zones": {"hall": {"polygon": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.5]], "occupancy": {"person": 1}}}}
    drawn = annotate(image, message)
    assert (image == 90).all(), "the detection thread's frame must stay untouched"
    def near(pixel, colour) -> bool:  # anti-aliased edges blend a little with the background
        return bool(np.abs(pixel.astype(int) - colour).max() < 40)

    assert near(drawn[120, 40], (40, 220, 40)), "box edge in the box colour"
    assert near(drawn[150, 200], (0, 200, 255)), "line in the line colour"
    assert drawn[30, 340, 0] > 90 and drawn[30, 340, 2] < 90, "zone tinted blue (BGR)"
    malformed = {"lines": {"bad": {"points": "x"}}, "zones": {"z": 3}}
    assert (annotate(image, malformed) == annotate(image, {})).all(), "unknown shapes are skipped, not drawn"


@pytest.mark.shared
def test_live_view_in_headless_chromium(tmp_path):
    counter = RunningCounter(tmp_path)
    try:
        wait_for(lambda: (counter.value("people_counter_frames_processed_total") or 0) >= 20, 60, 0.2, "frames")
        status, jpeg = counter.get("/frame.jpg")
        assert status == 200
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape == (480, 640, 3)
        green = (frame[..., 1] > 180) & (frame[..., 0] < 90) & (frame[..., 2] < 90)
        assert green.sum() > 200, "boxes drawn in green on the served frame"

        url, window = f"http://127.0.0.1:{counter.port}/", "--window-size=480,900"
        dom = chromium(url, "--virtual-time-budget=6000", window, "--dump-dom")
        img = re.search(r'<img id="frame"[^>]*data-loaded="640"[^>]*data-box="([\d,-]+)"', dom)
        assert img, "the annotated frame loaded"
        chart = re.search(r'<canvas id="chart" data-points="(\d+)"[^>]*data-box="([\d,-]+)"', dom)
        assert chart and int(chart.group(1)) >= 1, "the chart has count history"
        assert re.search(r'<span id="count">\d+</span>', dom)
        assert "<td>middle</td>" in dom and "<td>left</td>" in dom, "line and zone values listed"

        shot = tmp_path / "live-view.png"
        chromium(url, "--virtual-time-budget=6000", window, f"--screenshot={shot}")
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[:2] == (900, 480)

        def crop(box: str) -> np.ndarray:
            x, y, w, h = map(int, box.split(","))
            return image[y:y + h, x:x + w]

        photo = crop(img.group(1))
        assert photo.size and photo.std() > 20, "the frame is shown, not a blank box"
        boxes = (photo[..., 1] > 180) & (photo[..., 0] < 90) & (photo[..., 2] < 90)
        assert boxes.sum() > 100, "with detection boxes drawn"
        plot = crop(chart.group(2))
        curve = (plot[..., 1] > 200) & (plot[..., 0] < 160) & (plot[..., 2] < 160)
        assert curve.sum() > 10, "the count curve is drawn in the chart"
        keep = Path(os.environ.get("LIVE_VIEW_SCREENSHOT", ""))
        if keep.name:
            shutil.copy(shot, keep)
    finally:
        counter.stop()


def high_frequency(image: np.ndarray) -> np.ndarray:
    """Mean fine detail (gray minus its blur) per 16x16 block of a 640x480 image: near 0 where pixelated."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 1.5))
    return detail.reshape(30, 16, 40, 16).mean(axis=(1, 3))


@pytest.mark.shared
def test_live_view_beyond_loopback_shows_people_pixelated_in_chromium(tmp_path):
    """Bound to every address with a token and no privacy setting, the page a viewer opens (token in the URL, as
    a browser's basic-auth prompt would send it) shows the people pixelated: the blocks /frame.jpg pixelated (a
    frame of fine grain everywhere, tests/count_people/observability/test_privacy.py shows no person pixel
    leaves) are the blocks without detail in Chromium's screenshot, and the rest keeps its grain."""
    token = "viewer-token"
    counter = RunningCounter(tmp_path, "--http-host", "0.0.0.0", "--http-token", token, frames=1, grain=40)
    try:
        wait_for(lambda: (counter.value("people_counter_frames_processed_total") or 0) >= 3, 60, 0.2, "frames")
        request = urllib.request.Request(f"http://127.0.0.1:{counter.port}/frame.jpg",
                                         headers={"Authorization": f"Bearer {token}"})
        served = cv2.imdecode(np.frombuffer(urllib.request.urlopen(request, timeout=10).read(), np.uint8),
                              cv2.IMREAD_COLOR)
        original = cv2.imdecode(np.frombuffer(counter.feeder.jpegs[0], np.uint8), cv2.IMREAD_COLOR)
        pixelated = high_frequency(served) < 0.4 * high_frequency(original)
        assert pixelated.sum() >= 100, "the people of the frame were pixelated"

        url, window = f"http://viewer:{token}@127.0.0.1:{counter.port}/", "--window-size=480,900"
        dom = chromium(url, "--virtual-time-budget=6000", window, "--dump-dom")
        img = re.search(r'<img id="frame"[^>]*data-loaded="640"[^>]*data-box="([\d,-]+)"', dom)
        assert img, "the frame loaded with the token of the address"
        shot = tmp_path / "live-view-private.png"
        chromium(url, "--virtual-time-budget=6000", window, f"--screenshot={shot}")
        x, y, w, h = map(int, img.group(1).split(","))
        photo = cv2.resize(cv2.imread(str(shot))[y:y + h, x:x + w], (640, 480), interpolation=cv2.INTER_LINEAR)
        shown = high_frequency(photo)
        assert np.median(shown[pixelated]) < 0.5 * np.median(shown[~pixelated]), "people shown pixelated"
    finally:
        counter.stop()
