"""What is generated from the counter's schema (reference, JSON Schema, recipe defaults, --help): complete, and
saying what the counter accepts. tests/ggctl/test_generate.py keeps the files up to date."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from count_people.arguments import add_settings_arguments
from count_people.config import FIELDS, GREENGRASS_KEYS, SECTIONS, Settings, configuration_errors
from count_people.config.generate import SCHEMA, json_schema, recipe_defaults

ROOT = Path(__file__).resolve().parents[3]
REFERENCE, RECIPE = Path("docs/content/reference/configuration.md"), Path("recipes/count_people/recipe.yaml")


def test_the_recipe_defaults_are_every_key_and_what_the_counter_reads():
    recipe = yaml.safe_load((ROOT / RECIPE).read_text())
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    assert defaults == recipe_defaults()
    assert set(FIELDS) - set(defaults) == {"publish", "thing_name"}  # set by the Run step and the device
    assert configuration_errors(defaults) == []
    settings = Settings().updated({k: v for k, v in defaults.items() if k not in GREENGRASS_KEYS})
    assert settings.publish_mode == "summary" and settings.grabber_status == "/tmp/data/frame.status.json"


def test_the_reference_names_every_key_with_its_range_and_what_a_change_rebuilds():
    text = (ROOT / REFERENCE).read_text()
    for name in [*FIELDS, *GREENGRASS_KEYS - {"accessControl"}]:
        assert f"| `{name}` |" in text, name
    assert "| `threshold` | number | `0.5` | 0.0..1.0 | live: from the next frame | yes |" in text
    assert "| `log_level` | choice | `INFO` | DEBUG \\| INFO \\| WARNING \\| ERROR | restart: read at start only" \
        in text
    assert all(f"## {section.NAME}" in text for section in SECTIONS)


@pytest.mark.parametrize(("configuration", "valid"), [
    ({"threshold": 0.6, "classes": "person,car", "lines": {"door": [[0.5, 0], [0.5, 1]]}}, True),
    ({"detection": {"threshold": 0.6}, "publishing": {"publish_mode": "on_change"}}, True),
    ({"cameras": [{"id": "door", "rtsp_url": "rtsp://h/x", "threshold": 0.7}]}, True),
    ({"threshold": "0.6", "max_fps": "2"}, True),  # text, as a variable would give it
    ({"threshold": 2}, False),
    ({"thresold": 0.5}, False),
    ({"publish_mode": "sometimes"}, False),
    ({"detection": {"max_fps": 2}}, False),
    ({"cameras": [{"id": "a/b"}]}, False),
    ({"cameras": [{"id": "a", "colour": "red"}]}, False),
    ({"install_mxnet": "yes"}, False),
])
def test_the_json_schema_agrees_with_the_counter(configuration, valid):
    schema = json.loads((ROOT / SCHEMA).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.Draft202012Validator(schema).is_valid(configuration) == valid
    assert (configuration_errors(configuration) == []) == valid, configuration_errors(configuration)


def test_the_schema_accepts_the_recipe_defaults():
    jsonschema.validate(recipe_defaults(), json_schema(), cls=jsonschema.Draft202012Validator)


def test_help_comes_from_the_schema():
    import argparse

    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "detection (COUNT_PEOPLE_<KEY>, or detection: {key: value} in a file)" in text
    assert "minimum detection confidence (number 0.0..1.0; default: 0.5)" in text
    assert "log verbosity (choice DEBUG | INFO | WARNING | ERROR; default: INFO; read at start only)" in text
    assert "credentials in it: set COUNT_PEOPLE_INFLUX_URL, not the flag: argv shows in ps" in text

