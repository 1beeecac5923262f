"""max_frame_pixels (issue 15, defect 3): a header claiming 30000x30000 is skipped undecoded, fast and small."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from count_people.frames.base import decode_image, encoded_size, frame_problem
from support import REPO_ROOT, jpeg_bytes


def claiming(width: int, height: int) -> bytes:
    """A real 16x16 JPEG (about 630 bytes) whose SOF0 header says ``width`` x ``height``."""
    data = bytearray(jpeg_bytes(np.zeros((16, 16, 3), np.uint8)))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("flags", [[], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], [cv2.IMWRITE_JPEG_OPTIMIZE, 1]])
def test_size_is_read_from_the_header(flags):
    image = np.zeros((37, 53, 3), np.uint8)
    assert encoded_size(cv2.imencode(".jpg", image, flags)[1].tobytes()) == (53, 37)
    assert encoded_size(cv2.imencode(".png", image)[1].tobytes()) == (53, 37)
    assert encoded_size(b"\xff\xd8\xff") is None and encoded_size(b"") is None


def test_limit_applies_only_above_it():
    frame = jpeg_bytes(np.zeros((100, 200, 3), np.uint8))
    assert frame_problem(frame, 20_000) is None and decode_image(frame, 20_000).shape == (100, 200, 3)
    assert frame_problem(frame, 19_999) == "200x100 is over max_frame_pixels 19999"
    assert decode_image(frame, 19_999) is None


MEASURE = textwrap.dedent("""
    import json, os, resource, sys, threading, time
    from count_people.frames import LatestFrameFile
    path, bomb, good = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
    source = LatestFrameFile(path, 0.001, 40_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path + ".tmp", "wb") as f:
        f.write(bomb)
    os.replace(path + ".tmp", path)
    got = []
    thread = threading.Thread(target=lambda: got.append(source.next_frame(threading.Event())))
    started = time.perf_counter()
    thread.start()
    while source.skipped == 0:
        time.sleep(0.0005)
    skipped_after = time.perf_counter() - started
    with open(path + ".tmp", "wb") as f:
        f.write(good)
    os.replace(path + ".tmp", path)
    thread.join(10)
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"skip_ms": skipped_after * 1000, "grew_kib": grew, "next": list(got[0].image.shape)}))
""")


def test_a_30000x30000_claim_is_skipped_in_under_50_ms_within_the_limit(tmp_path):
    bomb = claiming(30000, 30000)
    good = jpeg_bytes(np.full((48, 64, 3), 128, np.uint8))
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path / "frame.jpg"), bomb.hex(), good.hex()],
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO_ROOT / "components"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    print(f"{len(bomb)}-byte 30000x30000 JPEG: skipped after {measured['skip_ms']:.1f} ms, "
          f"peak RSS grew {measured['grew_kib']} KiB")
    assert measured["next"] == [48, 64, 3], "the next good frame is counted"
    assert measured["skip_ms"] < 50
    assert measured["grew_kib"] * 1024 < 40_000_000 * 3, "never more than a frame at the limit (3 bytes a pixel)"
