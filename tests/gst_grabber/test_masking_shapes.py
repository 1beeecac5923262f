"""Camera passwords masked for every URL shape, in every error path (issue 15, defect 7)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gst_grabber.config import ConfigError, load_config
from gst_grabber.masking import Masker, mask_url, url_password
from support import REPO_ROOT

PASSWORD = "S3cr3t!Pw"
#: (URL as a user may write it, the password as written in it)
SHAPES = [
    (f"user:{PASSWORD}@127.0.0.1", PASSWORD),  # no scheme
    (f"rtsp://user:{PASSWORD}@127.0.0.1:554/x", PASSWORD),
    ("rtsp://user:S3cr3t@Pw@127.0.0.1/x", "S3cr3t@Pw"),  # unencoded '@' in the password
    ("rtsp://user:S3c/r3t@127.0.0.1/x", "S3c/r3t"),  # unencoded '/'
    ("rtsp://user:S3c:r3t@127.0.0.1/x", "S3c:r3t"),  # unencoded ':'
    (f"rtsp://user:{PASSWORD}@127.0.0.1:bad/x", PASSWORD),  # malformed port
    (f"rtsp://user:{PASSWORD}@127.0.0.1:99999/x", PASSWORD),  # port out of range
    (f"rtsp://user:{PASSWORD}@[::1/x", PASSWORD),  # malformed IPv6 host
    ("rtsp://user:S3cr3t%40Pw@127.0.0.1/x", "S3cr3t%40Pw"),  # percent-encoded
    (f"http://user:{PASSWORD}@127.0.0.1/x", PASSWORD),  # wrong scheme
    ("rtsp://u:p@127.0.0.1:x/y", "p"),  # one-letter password, malformed port
]


def assert_hidden(text: str, password: str) -> None:
    """A one-letter password is masked inside URLs only (gst_grabber.masking.MIN_FREE_SECRET)."""
    assert (password if len(password) >= 4 else f":{password}@") not in text, text


@pytest.mark.parametrize(("url", "password"), SHAPES)
def test_mask_url_hides_the_whole_password(url, password):
    assert url_password(url) == password
    masked = mask_url(url)
    assert_hidden(masked, password)
    head = url.rpartition("@")[0]
    assert masked == f"{head[:len(head) - len(password)]}***@{url.rpartition('@')[2]}", "all but the password kept"
    assert_hidden(Masker.for_url(url).mask(f"error: could not open {url} (reason)"), password)


@pytest.mark.parametrize(("url", "password"), [s for s in SHAPES if len(s[1]) >= 4])
def test_a_masker_hides_a_known_password_anywhere(url, password):
    assert password not in Masker.for_url(url).mask(f"{url} failed; the password was {password}")


@pytest.mark.parametrize("url", [url for url, _ in SHAPES if ":bad" in url or ":99999" in url or "@[" in url
                                 or "://" not in url or "http://" in url or ":x/" in url])
@pytest.mark.parametrize("where", ["env", "flag"])
def test_invalid_urls_are_one_masked_line_from_the_command(url, where):
    password = url_password(url)
    env = {"PYTHONPATH": str(REPO_ROOT / "components"), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-m", "gst_grabber.supervisor"]
    if where == "env":
        env["GRABBER_RTSP_URL"] = url
    else:
        argv += ["--url", url]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gst-grabber: error: ")
    assert_hidden(lines[0], password)
    with pytest.raises(ConfigError) as error:
        load_config(["--url", url] if where == "flag" else [], env)
    assert_hidden(str(error.value), password)
