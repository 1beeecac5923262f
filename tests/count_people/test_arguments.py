"""The shared command-line prologue: flags from the schema, then logging as the settings say."""

from __future__ import annotations

import json
import logging

import pytest
from count_people.arguments import setup_logging
from count_people.config import load_settings


@pytest.mark.parametrize("source", ["flag", "environment", "greengrass"])
def test_log_format_json_gives_one_object_per_line(source, capsys):
    """log_format (issue 23): one declaration in config/settings.py, its use here, and this test; its flag,
    variable, file and Greengrass key, --help, reference, JSON Schema and recipe default come from the schema."""
    given = {"flag": ({"log_format": "json"}, {}, None), "environment": ({}, {"COUNT_PEOPLE_LOG_FORMAT": "JSON"}, None),
             "greengrass": ({}, {}, {"observability": {"log_format": "json"}})}[source]
    settings = load_settings(given[0], environ=given[1], greengrass=given[2])
    try:
        setup_logging(settings)
        logging.getLogger("count_people.test").warning("camera %s: %d frames", "door", 3)
    finally:
        logging.basicConfig(force=True)
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == ("WARNING", "count_people.test",
                                                                      "camera door: 3 frames")


def test_log_format_text_is_the_default(capsys):
    setup_logging(load_settings({}, environ={}))
    try:
        logging.getLogger("count_people.test").warning("plain")
    finally:
        logging.basicConfig(force=True)
    assert capsys.readouterr().err.strip().endswith("WARNING count_people.test: plain")
