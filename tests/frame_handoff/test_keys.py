"""The key machinery both components parse with (frame_handoff.keys): kinds and guards."""

from __future__ import annotations

import pytest
from frame_handoff.keys import choice, guarded, load_text, number


def test_numbers_are_finite_in_range_and_whole_when_integers():
    seconds, frames = number(float, 0.0, 10.0), number(int, 0, 240)
    assert seconds("2.5") == 2.5 and frames(3.0) == 3 and frames("7") == 7
    cases = ((seconds, "nan", "expected a finite number"), (seconds, 11, "11.0 is outside 0.0..10.0"),
             (frames, 2.5, "expected an integer, got 2.5"), (frames, True, "expected an integer"))
    for kind, value, reason in cases:
        with pytest.raises(ValueError, match=reason):
            kind(value)
    assert frames.schema == {"type": ["integer", "string"], "minimum": 0, "maximum": 240}


def test_choices_are_case_insensitive_and_keep_their_declared_spelling():
    level = choice("DEBUG", "INFO")
    assert level("info") == "INFO" and "info" in level.schema["enum"]
    with pytest.raises(ValueError, match="expected one of DEBUG, INFO, got 'loud'"):
        level("loud")


def test_guards_count_depth_and_values_without_recursion():
    deep: list = []
    for _ in range(100_000):  # far past the recursion limit: the guard walks iteratively
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper than 12 levels"):
        guarded(deep)
    with pytest.raises(ValueError, match="more than 100000 values"):
        guarded([0] * 100_001)
    with pytest.raises(ValueError, match="a set; expected text, numbers, lists and mappings"):
        guarded({"x": {1, 2}})
    assert load_text("[[1, 2], {a: 3}]") == [[1, 2], {"a": 3}] and load_text("  ") is None
