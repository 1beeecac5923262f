"""A deployment's proposed configuration is answered with one line, whatever goes wrong (issue 23 item 7): a
hostile value through the guards, and a failure of the check itself instead of a report never sent."""

from __future__ import annotations

import pytest
from count_people import greengrass
from count_people.greengrass import GreengrassComponent

IPC = {"AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT": "/nonexistent/ipc.socket", "SVCUID": "token"}


@pytest.fixture
def component() -> GreengrassComponent:
    return GreengrassComponent({}, environ=IPC)


@pytest.mark.parametrize("key", ["lines", "zones", "cameras"])
def test_a_deeply_nested_value_is_refused_with_one_line(component, key):
    assert component.validation_error({key: "[" * 5000 + "]" * 5000}) == (
        f"Greengrass configuration: bad value for {key}: nested deeper than 12 levels; a setting has at most a few")


def test_a_failing_check_refuses_with_one_line_instead_of_no_report(component, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("unexpected\nstate")

    monkeypatch.setattr(greengrass, "load_settings", broken)
    assert component.validation_error({"threshold": 0.5}) == (
        "cannot validate the configuration: RuntimeError: unexpected state")
