"""Property tests of configuration parsing (issue 15): any value of any key is a parsed Settings or a one-line
UserError, never another exception; numbers end finite and in range; ids are always topic-safe."""

from __future__ import annotations

import math

from count_people.config import Settings, read_config_file
from count_people.errors import UserError
from frame_handoff.cameras import IDENTIFIER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = [f.name for f in Settings.options() if f.name != "cameras"]  # cameras: the multi-camera tests' own
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
NUMBER_KEYS = [f.name for f in Settings.options() if f.type in ("int", "float")]


def one_line(error: UserError) -> bool:
    return "\n" not in str(error) and str(error).startswith("config file x: ")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=JSONISH)
def test_any_value_of_any_key_parses_or_is_one_line(key, value):
    try:
        parsed = Settings().updated({key: value}, origin="config file x")
    except UserError as error:
        assert one_line(error)
        return
    result = getattr(parsed, key)
    if isinstance(result, float):
        assert math.isfinite(result)


@given(key=st.sampled_from(NUMBER_KEYS), value=st.floats() | st.text(max_size=12) | st.integers())
def test_numbers_are_finite_and_within_their_bounds(key, value):
    try:
        parsed = getattr(Settings().updated({key: value}, origin="config file x"), key)
    except UserError as error:
        assert one_line(error)
        return
    assert math.isfinite(parsed)
    Settings().updated({key: parsed})  # what was accepted is accepted again: it lies within the bounds


@given(key=st.sampled_from(["camera_id", "thing_name"]), value=st.text(max_size=140))
def test_identifiers_never_change_the_topic_levels(key, value):
    try:
        parsed = Settings().updated({key: value}, origin="config file x")
    except UserError as error:
        assert one_line(error)
        return
    identifier = getattr(parsed, key)
    assert IDENTIFIER.fullmatch(identifier)
    topic = parsed.topic.format(thing=parsed.thing_name, camera=parsed.camera_id)
    assert topic.count("/") == 2 and "#" not in topic and "+" not in topic


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000) | st.text(max_size=400).map(str.encode))
def test_any_config_file_is_a_mapping_or_one_line(tmp_path, data):
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    try:
        content = read_config_file(str(path))
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(content, dict)
