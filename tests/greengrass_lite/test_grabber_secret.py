"""The grabber with rtsp_secret_arn under nucleus lite, which has no GetSecretValue: one line naming what to do
instead, a non-zero exit, and no hang (ggipcd answers ServiceError "Unhandled operation requested")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from lite_bed import running_nucleus
from nucleus import component_service

NAME = "com.example.gst-grabber"
VERSION = "1.0.0"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cam-01/rtsp-AbCdEf"
GRABBER = Path(sys.executable).parent / "gst-grabber"


def test_a_secret_arn_on_nucleus_lite_fails_fast_with_one_line(nucleus_bin, tmp_path: Path) -> None:
    configuration = {"rtsp_url": "rtsp://127.0.0.1:9/cam1", "rtsp_secret_arn": ARN, "accessControl": {
        "aws.greengrass.SecretManager": {f"{NAME}:secrets:1": {"operations": ["aws.greengrass#GetSecretValue"],
                                                                "resources": [ARN]}}}}
    frames = tmp_path / "frames"
    # The rendered grabber recipe's environment, with the grabber run natively (Docker is not under test here).
    recipe = {"RecipeFormatVersion": "2020-01-25", "ComponentName": NAME, "ComponentVersion": VERSION,
              "Manifests": [{"Platform": {"os": "linux", "runtime": "*"}, "Lifecycle": {"Run": {
                  "Setenv": {"GRABBER_RTSP_URL": "{configuration:/rtsp_url}",
                             "GRABBER_RTSP_SECRET_ARN": "{configuration:/rtsp_secret_arn}",
                             "GRABBER_OUTPUT_DIR": str(frames)},
                  "Script": f"exec {GRABBER}"}}}]}
    with running_nucleus(nucleus_bin, {NAME: component_service(VERSION, configuration)}) as nucleus:
        start = time.monotonic()
        component = nucleus.run_component(NAME, VERSION, recipe)
        try:
            component.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the grabber hung: {component.output()[-2000:]}") from None
        finally:
            component.stop()
        seconds = time.monotonic() - start
        output = component.output()  # the log lives in the nucleus's runtime folder, removed afterwards
    lines = [line for line in output.splitlines() if "gst-grabber" in line]
    assert component.process.returncode != 0 and seconds < 30
    assert len(lines) == 1, output[-3000:]
    (line,) = lines
    assert f"cannot read secret {ARN} with GetSecretValue (ServiceError" in line
    assert "nucleus lite has no GetSecretValue" in line and "rtsp_secret_file" in line
    assert not frames.exists()
