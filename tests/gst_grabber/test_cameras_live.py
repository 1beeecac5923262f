"""One grabber, several cameras, real GStreamer: independence, live list changes, CPU per camera, masking."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import yaml
from grabber_support import PASSWORD, PASSWORD_URL, count_frames, frame_id
from support import wait_for

pytestmark = pytest.mark.clean_install


def _write(path: Path, cameras: list, **top) -> None:
    document = {"max_fps": 5, **top, "cameras": cameras}
    path.write_text(json.dumps(document) if path.suffix == ".json" else yaml.safe_dump(document))


def _status(out: Path, camera: str) -> dict:
    return json.loads((out / f"{camera}.status.json").read_text())


def _camera(camera_id: str, url: str, **extra) -> dict:
    # The counter's keys ride along: the grabber accepts them without reading them.
    return {"id": camera_id, "rtsp_url": url, "lines": {"door": [[0.5, 0], [0.5, 1]]}, "threshold": 0.5, **extra}


def test_cameras_run_side_by_side_and_a_failing_one_disturbs_no_other(tmp_path, emulator_factory, grabber_factory):
    shared = emulator_factory((), fps=15, mounts=("a=test", "b=test", "d=test"))
    alone = emulator_factory((), fps=15, mounts=("c=test",))
    cameras = tmp_path / "cameras.yaml"
    _write(cameras, [_camera("a", shared.url("/a")), _camera("b", shared.url("/b")), _camera("c", alone.url("/c"))],
           watchdog_s=3, backoff_max_s=2, thing_name="counter-key-at-the-top")
    grabber = grabber_factory("", args=["--cameras", str(cameras), "--stats-interval-s", "3"])
    out = grabber.out_dir
    wait_for(lambda: all(frame_id(out / f"{c}.jpg") for c in "abc"), 8, what="frames of cameras a, b and c")
    time.sleep(1.0)
    assert all(4 <= count_frames(out / f"{c}.jpg", 2.0) <= 12 for c in "ab")

    alone.stop()  # camera c goes away: a and b keep their rate
    wait_for(lambda: _status(out, "c")["state"] in ("backoff", "starting") and _status(out, "c")["restarts"] >= 1,
             8, 0.1, "camera c to back off")
    rates = {c: count_frames(out / f"{c}.jpg", 3.0) / 3.0 for c in "ab"}
    assert all(4.0 <= rate <= 6.0 for rate in rates.values()), rates
    assert all(_status(out, c)["state"] == "running" for c in "ab")
    before = frame_id(out / "c.jpg")
    alone.start()
    wait_for(lambda: frame_id(out / "c.jpg") != before, 10, 0.05, "camera c to resume on its own")

    status = _status(out, "a")
    assert status["camera_id"] == "a" and status["camera"] == f"rtsp://admin:***@127.0.0.1:{shared.port}/a"
    wait_for(lambda: (_status(out, "a").get("cpu_percent") or 0) > 0, 8, 0.2, "a CPU reading in a's status")
    cpu_lines = [ln for ln in grabber.output.lines if "CPU % of one core over 3 s:" in ln]
    assert cpu_lines and all(f" {c} " in cpu_lines[-1] for c in "abc"), cpu_lines
    assert grabber.proc.poll() is None
    assert "[c] attempt" in grabber.output.text and "[a] attempt" not in grabber.output.text.split("[a] attempt 1")[-1]

    grabber.stop()
    for text in [grabber.output.text] + [(out / f"{c}.status.json").read_text() for c in "abc"]:
        assert PASSWORD not in text and PASSWORD_URL not in text
    assert all(_status(out, c)["state"] == "stopped" for c in "abc")


def test_sighup_applies_only_what_changed(tmp_path, emulator_factory, grabber_factory):
    emulator = emulator_factory((), fps=15, mounts=("a=test", "b=test", "c=test", "d=test"))
    cameras = tmp_path / "cameras.json"
    _write(cameras, [_camera(c, emulator.url(f"/{c}")) for c in "abc"])
    grabber = grabber_factory("", args=["--cameras", str(cameras)])
    out = grabber.out_dir
    wait_for(lambda: all(frame_id(out / f"{c}.jpg") for c in "abc"), 8, what="frames of a, b and c")
    pids = {c: _status(out, c)["pid"] for c in "abc"}
    started = {c: grabber.output.text.count(f"[{c}] grabbing") for c in "abc"}

    # Not valid: logged, nothing stops.
    cameras.write_text(json.dumps({"cameras": [{"id": "a", "rtsp_url": emulator.url("/a")}] * 2}))
    grabber.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "cameras not reloaded, the running ones go on: cameras[1].id" in grabber.output.text, 5,
             what="the refused list in the log")
    assert all(count_frames(out / f"{c}.jpg", 1.0) >= 3 for c in "abc")

    # a: new rate cap (restarted); b: removed; c: unchanged (left alone); d: added.
    _write(cameras, [_camera("a", emulator.url("/a"), max_fps=2), _camera("c", emulator.url("/c")),
                     _camera("d", emulator.url("/d"))])
    grabber.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: frame_id(out / "d.jpg"), 8, what="frames of the added camera d")
    wait_for(lambda: _status(out, "b")["state"] == "stopped", 5, what="b stopped")
    time.sleep(1.5)
    rates = {c: count_frames(out / f"{c}.jpg", 3.0) / 3.0 for c in "acd"}
    assert 1.3 <= rates["a"] <= 2.7 and 4.0 <= rates["c"] <= 6.0 and 4.0 <= rates["d"] <= 6.0, rates
    assert count_frames(out / "b.jpg", 1.0) == 0
    assert grabber.output.text.count("[a] grabbing") == started["a"] + 1
    assert grabber.output.text.count("[c] grabbing") == started["c"]  # never restarted
    assert _status(out, "c")["attempt"] == 1 and _status(out, "c")["pid"] == pids["c"]

    # Editing the file is enough: the grabber notices the change without a signal.
    _write(cameras, [_camera("c", emulator.url("/c")), _camera("d", emulator.url("/d"))])
    wait_for(lambda: _status(out, "a")["state"] == "stopped", 8, what="a removed by a file change alone")
    assert grabber.proc.poll() is None
