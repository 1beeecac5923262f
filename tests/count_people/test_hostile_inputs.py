"""65 bad inputs of the kinds issue 15's probe tried: each ends in one line or one logged skip, never a traceback.

Flags, environment variables and config files go through ``count-people``'s own ``main`` (a one-line
``count-people: error:`` and exit 2); state files through the tracking hook (set aside as ``.corrupt``
with one warning, counting from zero); frames through a frame source (skipped, counted, one warning).
"""

from __future__ import annotations

import json
import logging
import threading
import zlib

import cv2
import numpy as np
import pytest
from count_people.cli import main
from count_people.config import Settings
from count_people.frames import ImageFolder
from count_people.tracking.hook import LinesAndZones
from support import jpeg_bytes

PASSWORD = "S3cr3t!Pw"


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(jpeg_bytes(np.zeros((16, 16, 3), np.uint8)))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def _png_claiming(width: int, height: int) -> bytes:
    data = bytearray(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


LINE = {"points": [[0.5, 0.0], [0.5, 1.0]], "since": 1.0, "in": {"person": 1}, "out": {}}


def _state(**line: object) -> bytes:
    return json.dumps({"version": 1, "lines": {"door": {**LINE, **line}}}).encode()


FLAGS = {
    "threshold-nan": ["--threshold", "nan"], "threshold-inf": ["--threshold", "inf"],
    "threshold-minus-inf": ["--threshold=-inf"], "max-fps-nan": ["--max-fps", "nan"],
    "max-fps-inf": ["--max-fps", "inf"], "health-timeout-nan": ["--health-timeout", "nan"],
    "stats-interval-nan": ["--stats-interval", "nan"], "poll-interval-nan": ["--poll-interval", "nan"],
    "nms-threshold-nan": ["--nms-threshold", "nan"], "heartbeat-interval-inf": ["--heartbeat-interval", "inf"],
    "summary-interval-nan": ["--summary-interval", "nan"], "tracker-match-iou-nan": ["--tracker-match-iou", "nan"],
    "influx-interval-nan": ["--influx-interval", "nan"], "max-frame-pixels-nan": ["--max-frame-pixels", "nan"],
    "input-size-1e400": ["--input-size", "1e400"], "thing-hash": ["--thing-name", "a/#"],
    "thing-plus": ["--thing-name", "a/+"], "thing-only-hash": ["--thing-name", "#"],
    "thing-slash": ["--thing-name", "a/b"], "camera-hash": ["--camera-id", "cam#1"],
    "camera-empty": ["--camera-id", ""],
    "camera-blank": ["--camera-id", "   "], "camera-too-long": ["--camera-id", "x" * 200],
    "camera-space": ["--camera-id", "cam 1"], "topic-wildcard": ["--topic", "a/#"],
    "influx-url-bad-port": ["--influx-url", f"http://a:{PASSWORD}@h:bad"], "http-port-70000": ["--http-port", "70000"],
    "queue-size-0": ["--queue-size", "0"],
}
ENVIRONMENT = {"env-threshold-nan": ("COUNT_PEOPLE_THRESHOLD", "nan"),
               "env-thing-hash": ("COUNT_PEOPLE_THING_NAME", "a/#"),
               "env-camera-plus": ("COUNT_PEOPLE_CAMERA_ID", "cam+1")}
CONFIG_FILES = {
    "config-binary": bytes(range(256)) * 4,
    "config-nested-list": b"[" * 5000 + b"]" * 5000,
    "config-nested-block": "".join(f"{' ' * i}a:\n" for i in range(600)).encode() + b" " * 600 + b"1\n",
    "config-nested-json": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "config-2mb": b"# " + b"x" * 2_000_000 + b"\n",
    "config-list": b"- threshold: 0.5\n",
    "config-utf16": "threshold: 0.5\n".encode("utf-16"),
    "config-yaml-nan": b"threshold: .nan\n",
    "config-threshold-list": b"threshold: [1]\n",
    "config-camera-mapping": b"camera_id: {a: 1}\n",
    "config-lines-deep": b"lines: " + b"[" * 3000 + b"]" * 3000 + b"\n",
    "config-unknown-key": b"thresold: 0.5\n",
    "config-nul-bytes": b"threshold: 0.5\n\x00\x00\n",
    "config-directory": None,  # a folder where the file should be
}
STATE_FILES = {
    "state-lines-list": b'{"version":1,"lines":[1,2]}',
    "state-in-number": _state(**{"in": 5}),
    "state-since-missing": json.dumps({"version": 1, "lines": {"door": {k: v for k, v in LINE.items()
                                                                         if k != "since"}}}).encode(),
    "state-negative-total": _state(**{"in": {"person": -3}}),
    "state-text-total": _state(out={"person": "many"}),
    "state-bool-total": _state(out={"person": True}),
    "state-since-nan": _state(since=float("nan")),
    "state-points-shape": _state(points=[[0.5], [0.5, 1.0, 2.0]]),
    "state-version-2": json.dumps({"version": 2, "lines": {}}).encode(),
    "state-top-level-list": b"[1, 2, 3]",
    "state-binary": bytes(range(256)),
    "state-empty": b"",
    "state-deep": b'{"version":1,"lines":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "state-line-null": b'{"version":1,"lines":{"door":null}}',
}
FRAMES = {
    "frame-30000x30000-jpeg": _jpeg_claiming(30000, 30000),
    "frame-100000x100000-png": _png_claiming(100_000, 100_000),
    "frame-empty": b"",
    "frame-truncated": jpeg_bytes(np.full((64, 64, 3), 90, np.uint8))[:200],
    "frame-random-bytes": bytes(range(256)) * 8,
    "frame-folder-named-a.jpg": None,  # a subfolder where an image should be
}
CASES = ([(name, "flags", value) for name, value in FLAGS.items()]
         + [(name, "env", value) for name, value in ENVIRONMENT.items()]
         + [(name, "config", value) for name, value in CONFIG_FILES.items()]
         + [(name, "state", value) for name, value in STATE_FILES.items()]
         + [(name, "frame", value) for name, value in FRAMES.items()])


def test_the_probe_had_65_cases():
    assert len(CASES) == 65 and len({name for name, _, _ in CASES}) == 65


def _one_error_line(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("count-people: error: "), err[-2000:]
    assert "Traceback" not in err and PASSWORD not in err
    return lines[0]


@pytest.mark.parametrize(("name", "kind", "value"), CASES, ids=[name for name, _, _ in CASES])
def test_bad_input_is_one_line_or_one_logged_skip(name, kind, value, tmp_path, capsys, caplog, monkeypatch):
    for var in ("AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", "SVCUID", "COUNT_PEOPLE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    source = ["--source", str(tmp_path / "frame.jpg")]
    if kind == "flags":
        _one_error_line([*source, *value], capsys)
    elif kind == "env":
        monkeypatch.setenv(*value)
        _one_error_line(source, capsys)
    elif kind == "config":
        path = tmp_path / "config.yaml"
        path.mkdir() if value is None else path.write_bytes(value)
        _one_error_line([*source, "--config", str(path)], capsys)
    elif kind == "state":
        path = tmp_path / "line-counts.json"
        path.write_bytes(value)
        settings = Settings().updated({"lines": {"door": [[0.5, 0.0], [0.5, 1.0]]}, "state_file": str(path)})
        with caplog.at_level(logging.INFO):
            hook = LinesAndZones(settings)
            hook.close()
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and not warnings[0].exc_info, caplog.text
        assert (tmp_path / "line-counts.json.corrupt").read_bytes() == value
        assert all(not total for counter in hook.lines for total in counter.totals.values()), "counting from zero"
    else:
        folder = tmp_path / "images"
        folder.mkdir()
        bad = folder / "a.jpg"
        bad.mkdir() if value is None else bad.write_bytes(value)
        (folder / "b.jpg").write_bytes(jpeg_bytes(np.full((32, 48, 3), 120, np.uint8)))
        with caplog.at_level(logging.INFO):
            source = ImageFolder(str(folder), Settings().max_frame_pixels)
            frame = source.next_frame(threading.Event())
        assert frame is not None and frame.image.shape == (32, 48, 3), "the good image after the bad one"
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        skipped = 0 if value is None else 1  # a folder is left out of the listing, a bad file skipped with a line
        assert source.skipped == skipped and len(warnings) == skipped, caplog.text
        assert not any(r.exc_info for r in caplog.records)
