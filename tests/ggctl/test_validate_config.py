"""``ggctl validate-config FILE``: what a console user pastes into "Configuration to merge", checked as the
component would check it before a deployment carries it to devices: one line per error, exit 2."""

from __future__ import annotations

import json
import os

from ggctl.cli import main


def test_every_error_is_one_line_and_the_exit_is_2(tmp_path, capsys):
    config = tmp_path / "merge.json"
    config.write_text(json.dumps({"threshold": 2, "thresold": 1, "lines": {"door": [[0, 0], [0, 0]]},
                                  "install_mxnet": "maybe", "publish_mode": "summary"}))
    assert main(["validate-config", str(config)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"{config}: configuration: bad value for threshold: 2.0 is outside 0.0..1.0",
        f"{config}: configuration: unknown key 'thresold'; did you mean threshold? (or a section: input, detection, "
        "tracking, regions, analytics, publishing, observability; every key: docs/content/reference/configuration.md)",
        f"{config}: configuration: bad value for lines: line 'door': its two points are identical; a line needs two "
        "distinct points",
        f"{config}: configuration: bad value for install_mxnet: must be auto, true or false, got 'maybe'",
    ]


def test_a_valid_merge_in_yaml_or_as_a_deployment_document(tmp_path, capsys):
    config = tmp_path / "merge.yaml"
    config.write_text("merge:\n  detection: {threshold: 0.6}\n  cameras: [{id: door, rtsp_url: 'rtsp://h/x'}]\n")
    assert main(["validate-config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"{config}: valid configuration of count_people"


def test_the_grabber_and_hostile_files(tmp_path, capsys):
    grabber = tmp_path / "grabber.json"
    grabber.write_text(json.dumps({"jpeg_quality": 101}))
    assert main(["validate-config", "--component", "gst-grabber", str(grabber)]) == 2
    assert capsys.readouterr().err.strip() == f"{grabber}: configuration: bad value for jpeg_quality 101: 101 is " \
                                              "outside 1..100"
    deep, fifo = tmp_path / "deep.json", tmp_path / "fifo"
    deep.write_text("[" * 5000 + "]" * 5000)
    os.mkfifo(fifo)
    assert main(["validate-config", str(deep)]) == 2
    assert main(["validate-config", str(fifo)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{deep}: nested deeper than 12 levels; a setting has at most a few",
        f"{fifo}: not a regular file (a FIFO, device or folder); give a YAML or JSON file"]
