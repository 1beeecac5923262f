"""Every way a value reaches the counter goes through the same guards (issue 23 item 7): a deeply nested value
in a flag, a variable, a config file (whole, or a setting given as text in it) is one line and exit 2, not a
RecursionError traceback; a FIFO given as --config is refused at once instead of blocking for ever."""

from __future__ import annotations

import os
import threading

import pytest
from count_people.cli import main
from count_people.config import Settings, load_settings, read_config_file
from count_people.errors import UserError

#: Far deeper than Python's recursion limit: the YAML parser itself would raise RecursionError.
DEEP = "[" * 5000 + "]" * 5000
#: Parses without recursion trouble, but deeper than any setting: refused by the depth guard.
NESTED = "[" * 40 + "]" * 40


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err[:2000]
    return lines[0]


@pytest.fixture(autouse=True)
def no_counter_environment(monkeypatch):
    for var in [v for v in os.environ if v.startswith("COUNT_PEOPLE_")]:
        monkeypatch.delenv(var)


@pytest.mark.parametrize("flag", ["--lines", "--zones", "--cameras"])
@pytest.mark.parametrize("value", [DEEP, NESTED])
def test_a_deep_value_in_a_flag_is_one_line(flag, value, capsys):
    assert main([flag, value]) == 2
    line = one_line_error(capsys)
    assert line == f"count-people: error: command line: bad value for {flag[2:]}: nested deeper than 12 levels; " \
                   "a setting has at most a few"


def test_a_deep_value_in_an_environment_variable_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("COUNT_PEOPLE_CAMERAS", DEEP)
    assert main([]) == 2
    assert one_line_error(capsys).startswith("count-people: error: environment: bad value for cameras: nested deeper")


@pytest.mark.parametrize("content", [
    f"cameras: '{DEEP}'\n",  # a setting given as text inside the file
    f"lines: {DEEP}\n",  # the file itself nested too deeply (flow style)
    "".join(f"{' ' * depth}k:\n" for depth in range(1000)) + " " * 1000 + "x: 1\n",  # block style, 500 KB
])
def test_a_deep_value_in_a_config_file_is_one_line(tmp_path, content, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(content)
    assert main(["--config", str(config)]) == 2
    assert "nested deeper than 12 levels" in one_line_error(capsys)


def test_a_fifo_as_config_file_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(main(["--config", str(fifo)])), daemon=True)
    runner.start()
    runner.join(10)
    if runner.is_alive():  # the old reader blocks in open(): unblock it so the test run can end
        with open(fifo, "w"):
            pass
        runner.join(10)
        pytest.fail("--config FIFO blocked")
    assert result == [2]
    assert one_line_error(capsys) == (f"count-people: error: config file {str(fifo)!r}: not a regular file (a FIFO, "
                                      "device or folder); give a YAML or JSON file")


def test_a_deep_value_from_greengrass_is_one_user_error():
    """What a deployment's validation sees (the configuration arrives already parsed, not as text)."""
    deep: list = []
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(UserError, match=r"^Greengrass configuration: bad value for zones: nested deeper than 12"):
        load_settings({}, environ={}, greengrass={"zones": deep})
    with pytest.raises(UserError, match=r"^Greengrass configuration: bad value for lines: nested deeper than 12"):
        load_settings({}, environ={}, greengrass={"lines": DEEP})


def test_an_oversized_setting_and_file_are_one_line(tmp_path):
    with pytest.raises(UserError, match="bad value for lines: longer than 1024 KiB"):
        Settings().updated({"lines": " " * (1024 * 1024 + 1)}, origin="command line")
    big = tmp_path / "big.yaml"
    big.write_text("#" * (1024 * 1024 + 1))
    with pytest.raises(UserError, match="larger than 1024 KiB"):
        read_config_file(str(big))


def test_nested_sections_and_flat_keys_are_one_schema(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("detection: {threshold: 0.6, classes: [person, car]}\npublishing:\n  publish_mode: summary\n"
                      "max_fps: 2\n")
    settings = load_settings({}, environ={"COUNT_PEOPLE_THRESHOLD": "0.7"}, config_file=str(config))
    assert (settings.threshold, settings.classes, settings.publish_mode, settings.max_fps) == (
        0.7, ("person", "car"), "summary", 2.0)
    with pytest.raises(UserError, match=r"^config file x: unknown key detection\.max_fps; the detection section"):
        Settings().updated({"detection": {"max_fps": 2}}, origin="config file x")
    with pytest.raises(UserError, match=r"^config file x: bad value for detection: expected a mapping"):
        Settings().updated({"detection": "yolo"}, origin="config file x")


def test_a_yaml_date_is_text(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("counts_reset: 2024-06-01\n")
    assert load_settings({}, environ={}, config_file=str(config)).counts_reset == "2024-06-01"
