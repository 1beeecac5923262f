"""``gst_grabber.launch``, the pipeline child that takes the camera's credentials from its environment (issue 15,
defect 7): real GStreamer and the authenticating RTSP emulator; the password never in its argv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from grabber_support import PASSWORD, USER, Emulator, require_gstreamer
from gst_grabber.launch import PASSWORD_ENV, SOURCE_NAME, USER_ENV
from support import REPO_ROOT, wait_for


def child(tokens: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gst_grabber.launch", *tokens], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "components"), **env})


def camera_pipeline(url: str, out: Path) -> list[str]:
    return ["rtspsrc", f"name={SOURCE_NAME}", f"location={url}", "protocols=tcp", "!",
            "application/x-rtp,media=video", "!", "decodebin", "!", "videoconvert", "!", "jpegenc", "!",
            "multifilesink", f"location={out}", "sync=false", "async=false"]


@pytest.fixture
def emulator():
    require_gstreamer()
    emulator = Emulator(auth=True).start()
    yield emulator
    emulator.stop()


def test_end_of_stream_and_a_bad_description(tmp_path):
    require_gstreamer()
    done = child(["videotestsrc", "num-buffers=3", "!", "jpegenc", "!", "multifilesink",
                  f"location={tmp_path / 'f.jpg'}"])
    assert done.wait(30) == 0 and (tmp_path / "f.jpg").exists()
    broken = child(["nosuchelement", "!", "fakesink"])
    assert broken.wait(30) == 1
    assert broken.stdout.read().startswith("ERROR: pipeline could not be constructed: no element")


def test_credentials_from_the_environment_never_in_argv(emulator, tmp_path):
    frame = tmp_path / "frame.jpg"
    plain_url = emulator.url().replace(f"{USER}:", "").split("@", 1)[1]
    running = child(camera_pipeline(f"rtsp://{plain_url}", frame), **{USER_ENV: USER, PASSWORD_ENV: PASSWORD})
    try:
        wait_for(frame.exists, 30, what="frames through the authenticated camera")
        argv = Path(f"/proc/{running.pid}/cmdline").read_bytes().decode()
        assert PASSWORD not in argv and USER_ENV not in argv
        environ = Path(f"/proc/{running.pid}/environ").read_bytes().decode(errors="replace")
        assert oct(Path(f"/proc/{running.pid}/environ").stat().st_mode & 0o777) == "0o400", "owner only"
        assert PASSWORD in environ  # where it lives instead: readable by the owner and root only
    finally:
        running.terminate()
        assert running.wait(20) == 0, "SIGTERM stops it cleanly"


def test_a_wrong_password_is_one_gst_launch_style_error(emulator, tmp_path):
    plain_url = emulator.url().split("@", 1)[1]
    refused = child(camera_pipeline(f"rtsp://{plain_url}", tmp_path / "frame.jpg"),
                    **{USER_ENV: USER, PASSWORD_ENV: "wrong"})
    assert refused.wait(60) == 1
    output = refused.stdout.read()
    assert output.startswith(f"ERROR: from element {SOURCE_NAME}: Unauthorized"), output


def test_verbose_prints_last_messages_like_gst_launch():
    require_gstreamer()
    done = child(["-v", "videotestsrc", "num-buffers=4", "!", "identity", "silent=false", "!", "fakesink"])
    assert done.wait(30) == 0
    chains = [line for line in done.stdout.read().splitlines() if "last-message = chain" in line]
    assert len(chains) == 4 and chains[0].startswith("/GstPipeline:pipeline0/GstIdentity:identity0: ")
