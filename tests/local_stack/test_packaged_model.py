"""A model packaged by `ggctl build` is found by the counter through {artifacts:decompressedPath} in the local stack.

`ggctl build count_people --model/--params/--labels` with the body model from ../shared; the ZIP unpacked as
the nucleus does (Unarchive: ZIP, into ``{artifacts:decompressedPath}/count_people``); the rendered Run step's
Setenv resolved with that folder; the counter started by the local stack (gg-ipc-local serving the rendered
recipe, whose DefaultConfiguration no longer names the model) with that environment. Its counts come from the
packaged files: the messages name that model and no model file is given any other way.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import jsonschema
import yaml
from ggctl.cli import main
from ggctl.project import COUNTER, load_components
from local_stack.stack import REPO_ROOT, LocalStack, StackOptions
from support import Subscriber, message_schema, shared_path, wait_for

BODY_MODEL = "models/yolo-fastest/yolo-fastest-1.1_body"
STADTMITTE = "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"


def test_a_packaged_model_is_found_through_the_artifacts_path(tmp_path: Path) -> None:
    cfg = shared_path(BODY_MODEL + ".cfg")
    video = shared_path(STADTMITTE)
    out = tmp_path / "build"
    assert main(["--root", str(REPO_ROOT), "--out", str(out), "build", COUNTER.key, "--model", str(cfg),
                 "--params", str(cfg.with_suffix(".weights")), "--labels", str(cfg.parent / "body.names")]) == 0
    counter = load_components(REPO_ROOT)[COUNTER.key]
    recipe_path = out / "recipes" / f"{counter.name}-{counter.version}.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    default = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    assert not {"model", "params", "labels"} & set(default)  # the environment, not configuration, names them

    # What the nucleus does: unarchive the ZIP into a folder named after it, then interpolate Setenv.
    decompressed = tmp_path / "packages" / "artifacts-unarchived" / counter.name / counter.version
    with zipfile.ZipFile(out / "artifacts" / counter.name / counter.version / "count_people.zip") as archive:
        archive.extractall(decompressed / "count_people")
    (manifest,) = recipe["Manifests"]
    setenv = manifest["Lifecycle"]["Run"]["Setenv"]
    env = {key: value.replace("{artifacts:decompressedPath}", str(decompressed)) for key, value in setenv.items()}
    assert sorted(env) == ["COUNT_PEOPLE_LABELS", "COUNT_PEOPLE_MODEL", "COUNT_PEOPLE_PARAMS"]
    assert all(Path(path).is_file() and Path(path).is_relative_to(decompressed) for path in env.values())

    # The deployment's merge: the detector that reads these files, nothing that names a file.
    settings = tmp_path / "counter.yaml"
    settings.write_text(yaml.safe_dump({"detector": "opencv", "class_alias": "body=person", "threshold": 0.4,
                                        "publish_mode": "every_frame"}))
    stack = LocalStack(StackOptions([str(video)], grabber_fps=8, counter_config=settings, recipe=recipe_path,
                                    counter_env=env, workdir=tmp_path / "stack",
                                    emulator_args=["--size", "480x360", "--fps", "10"]))
    subscriber = None
    try:
        stack.start()
        subscriber = Subscriber(stack.mqtt_port, "#")
        wait_for(lambda: stack.check() or sum(m.get("count", 0) >= 1 for m in subscriber.messages) >= 5, 60,
                 what="counts of people from the packaged model")
        messages = list(subscriber.messages)
    finally:
        if subscriber is not None:
            subscriber.close()
        stack.stop()
    for message in messages:
        jsonschema.validate(message, message_schema())
    assert {m["model"] for m in messages} == {"yolo-fastest-1.1_body.cfg"}, {m["model"] for m in messages}
    assert max(m["count"] for m in messages) <= 15
