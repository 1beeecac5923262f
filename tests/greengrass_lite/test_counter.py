"""The real counter component under nucleus lite, from the recipe ggctl renders for a deployment.

Configuration: the rendered DefaultConfiguration (accessControl included) goes to ggconfigd as the
component's configuration, with the body model from ../shared and a video as the source. Run: the
rendered Run script through recipe-runner, with ``{work:path}/venv-<version>`` pointed at the project's
.venv (pre-built for speed; the Install step, which builds that venv, is not run here).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from config_bus import write_configuration
from ggctl.project import COUNTER, load_components
from ggctl.render import render
from lite_bed import TlsSubscriber, running_nucleus
from nucleus import THING, NucleusLite, component_service
from support import REPO_ROOT, message_schema, shared_path, wait_for

VENV = REPO_ROOT / ".venv"


def counter_recipe() -> dict[str, Any]:
    """The counter recipe as a deployment gets it, made runnable here (platform, venv, no S3 artifact)."""
    components = load_components(REPO_ROOT)
    recipe = render(REPO_ROOT, components[COUNTER.key], components, "lite-test", {COUNTER.artifact: "not-uploaded"})
    for manifest in recipe["Manifests"]:
        manifest["Platform"]["runtime"] = "*"  # nucleus lite selects manifests by runtime too
        manifest.pop("Artifacts", None)
        lifecycle = manifest["Lifecycle"]
        lifecycle.pop("Install", None)
        script = lifecycle["Run"]["Script"]
        venv = f"{{work:path}}/venv-{recipe['ComponentVersion']}"
        assert venv in script, f"the rendered Run script no longer uses {venv}: {script}"
        lifecycle["Run"]["Script"] = script.replace(venv, str(VENV))
    return recipe


def counter_configuration(recipe: dict, **overrides: Any) -> dict[str, Any]:
    cfg = shared_path("models/yolo-fastest/yolo-fastest-1.1_body.cfg")
    configuration = dict(recipe["ComponentConfiguration"]["DefaultConfiguration"])
    configuration.update({
        "source": str(shared_path("footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4")), "detector": "opencv",
        "model": str(cfg), "params": str(cfg.with_suffix(".weights")), "labels": str(cfg.parent / "body.names"),
        "class_alias": "body=person", "threshold": 0.4, "max_fps": 10, "publish_mode": "every_frame", **overrides})
    return configuration


def run_counter(nucleus_bin: Path, configuration: dict, recipe: dict, topic_filter: str, seconds: float,
                during: Callable[[NucleusLite], None] | None = None):
    """Run the counter under a fresh nucleus; ([(topic, message)] at the broker, the counter's output).

    ``during(nucleus)`` runs once the counter has started, e.g. an IoT Core outage:
    ``nucleus.stop_broker()``, wait, ``nucleus.start_broker()`` (``nucleus.iot_connected()`` tells when
    iotcored is back); the subscriber reconnects by itself.
    """
    name, version = recipe["ComponentName"], recipe["ComponentVersion"]
    with running_nucleus(nucleus_bin, {name: component_service(version, configuration)}) as nucleus:
        subscriber = TlsSubscriber(nucleus.certs, topic_filter)
        try:
            component = nucleus.run_component(name, version, recipe)
            if during is not None:
                during(nucleus)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and component.process.poll() is None:
                time.sleep(0.2)
            return [(topic, json.loads(payload)) for topic, payload in subscriber.messages], component.output()
        finally:
            subscriber.close()


def test_counts_arrive_over_mtls_schema_valid(nucleus_bin):
    recipe = counter_recipe()
    configuration = counter_configuration(recipe)
    topic = str(configuration["topic"]).format(thing=THING, camera=configuration["camera_id"])
    received, output = run_counter(nucleus_bin, configuration, recipe, topic, 40)
    messages = [message for _, message in received]
    assert len(messages) >= 5, f"only {len(messages)} counts at the broker; counter output:\n{output[-3000:]}"
    schema = message_schema()
    for message in messages:
        jsonschema.validate(message, schema)
    assert {m["camera_id"] for m in messages} == {configuration["camera_id"]}
    assert {m["thing_name"] for m in messages} == {THING}


def test_a_topic_outside_access_control_is_refused_by_the_nucleus(nucleus_bin):
    recipe = counter_recipe()
    configuration = counter_configuration(recipe, topic="elsewhere/{camera}")
    received, output = run_counter(nucleus_bin, configuration, recipe, "#", 20)
    assert received == [], "nucleus lite must refuse what the recipe's accessControl does not grant"
    if "nauthorized" not in output:
        pytest.fail(f"the counter did not report the refusal; its output:\n{output[-3000:]}")


def test_a_configuration_update_through_the_nucleus_moves_the_topic_live(nucleus_bin):
    """As a deployment does: ggconfigd gets the new value, the running counter follows it."""
    recipe = counter_recipe()
    configuration = counter_configuration(recipe)
    name, camera = recipe["ComponentName"], configuration["camera_id"]
    before, after = (f"people-counter/{THING}/{camera}", f"people-counter/{THING}/{camera}-moved")
    seen: list[tuple[str, dict]] = []

    def move_topic(nucleus: NucleusLite) -> None:
        subscriber = TlsSubscriber(nucleus.certs, "people-counter/#")
        try:
            wait_for(lambda: len(subscriber.messages) >= 3, 60, what="counts on the configured topic")
            write_configuration(name, ["topic"], "people-counter/{thing}/{camera}-moved")
            wait_for(lambda: any(topic == after for topic, _ in subscriber.messages), 30,
                     what="counts on the updated topic")
        finally:
            subscriber.close()
            seen.extend((topic, json.loads(payload)) for topic, payload in subscriber.messages)

    run_counter(nucleus_bin, configuration, recipe, "people-counter/#", 0, during=move_topic)
    topics = [topic for topic, _ in seen]
    assert topics[0] == before and topics[-1] == after
    switched = topics.index(after)
    assert set(topics[switched:]) == {after}, "once moved, the counter publishes only on the new topic"


def test_a_topic_over_the_iot_core_limits_stops_the_counter_with_one_line(nucleus_bin):
    """Nucleus lite would forward it (no topic check: publish_to_iot_core.c:108-119) and AWS IoT Core refuse it; the
    Java nucleus refuses each publish (IotCoreTopicValidator.java:129-138): the counter refuses it at start-up."""
    recipe = counter_recipe()
    configuration = counter_configuration(recipe, topic="people-counter/a/b/c/d/e/f/{thing}/{camera}")
    received, output = run_counter(nucleus_bin, configuration, recipe, "#", 30)
    assert received == []
    assert "count-people: error: topic: 'people-counter/a/b/c/d/e/f/{thing}/{camera}' gives the topic " \
           f"'people-counter/a/b/c/d/e/f/{THING}/{configuration['camera_id']}'" in output, output[-3000:]
    assert "it has 8 '/' and AWS IoT Core allows at most 7" in output
