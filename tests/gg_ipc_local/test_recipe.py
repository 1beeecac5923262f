"""accessControl as the nucleus applies it, and the server's topic filters."""

from __future__ import annotations

import pytest
from gg_ipc_local.config_store import ComponentConfiguration
from gg_ipc_local.operations.pubsub import topic_matches
from gg_ipc_local.recipe import MQTT_PROXY, PUBSUB, Recipe, RecipeError

PUBLISH = "aws.greengrass#PublishToIoTCore"


def recipe(resources: list[str], operations: list[str] | None = None, interpolate: bool = True) -> Recipe:
    policy = {"p1": {"operations": operations or [PUBLISH], "resources": resources}}
    return Recipe("c", {"accessControl": {MQTT_PROXY: policy}}, thing_name="cam-host", interpolate=interpolate)


@pytest.mark.parametrize(("resource", "topic", "allowed"), [
    ("people/{iot:thingName}/*", "people/cam-host/c1", True),
    ("people/{iot:thingName}/*", "people/other/c1", False),
    ("people/+/c1", "people/x/c1", True),
    ("people/+/c1", "people/x/y/c1", False),
    ("people/#", "people/a/b", True),
    ("people/c1", "people/c1/x", False),
    ("*", "anything/at/all", True),
])
def test_resource_patterns(resource, topic, allowed):
    assert recipe([resource]).authorized(MQTT_PROXY, PUBLISH, topic) is allowed


def test_no_recipe_variables_unless_interpolation_is_on():
    """A default Java nucleus (interpolateComponentConfiguration false) leaves {iot:thingName} as text."""
    literal = recipe(["people/{iot:thingName}/*"], interpolate=False)
    assert not literal.authorized(MQTT_PROXY, PUBLISH, "people/cam-host/c1")
    assert literal.authorized(MQTT_PROXY, PUBLISH, "people/{iot:thingName}/c1")
    assert recipe(["people/+/c1"], interpolate=False).authorized(MQTT_PROXY, PUBLISH, "people/cam-host/c1")


def test_recipe_load_defaults_to_no_interpolation(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("ComponentName: c\nComponentConfiguration:\n  DefaultConfiguration:\n    accessControl:\n"
                    "      aws.greengrass.ipc.mqttproxy: {p: {operations: ['*'], resources: ['t/{iot:thingName}']}}\n")
    assert not Recipe.load(path, "thing").authorized(MQTT_PROXY, PUBLISH, "t/thing")
    assert Recipe.load(path, "thing", interpolate=True).authorized(MQTT_PROXY, PUBLISH, "t/thing")


def test_operation_and_service_must_match_too():
    assert recipe(["#"], ["*"]).authorized(MQTT_PROXY, PUBLISH, "t")
    assert not recipe(["#"], ["aws.greengrass#SubscribeToIoTCore"]).authorized(MQTT_PROXY, PUBLISH, "t")
    assert not recipe(["#"]).authorized(PUBSUB, PUBLISH, "t")


def test_bad_recipes_fail_with_one_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("ComponentConfiguration: {}\n")
    with pytest.raises(RecipeError, match="no ComponentName"):
        Recipe.load(path)
    path.write_text("componentname: c\nComponentConfiguration:\n  DefaultConfiguration:\n"
                    "    accessControl: {aws.greengrass.ipc.mqttproxy: {p: {operations: x}}}\n")
    with pytest.raises(RecipeError, match="must be lists"):
        Recipe.load(path)


def test_topic_filters():
    """Local pub/sub subscriptions match as SubscriptionTrie.get (v2.18.2 SubscriptionTrie.java:176-195)."""
    assert topic_matches("a/+/c", "a/b/c") and topic_matches("a/#", "a/b/c") and topic_matches("#", "a")
    assert not topic_matches("a/+", "a/b/c") and not topic_matches("a/b", "a")
    assert not topic_matches("a/#", "a"), "# matches one level or more there"


def test_configuration_merge_reports_changed_leaves():
    config = ComponentConfiguration({"a": 1, "n": {"x": 1, "y": 2}})
    assert config.merge([], {"a": 1, "n": {"x": 3}}) == [["n", "x"]]
    assert config.merge(["n", "y"], 5) == [["n", "y"]] and config.get(["n"]) == {"x": 3, "y": 5}
    with pytest.raises(ValueError, match="object"):
        config.merge([], 7)
