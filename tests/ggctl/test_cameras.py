"""ggctl and a cameras list: the grabber recipe passes it to the container; deployments check and mask it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ggctl import build, configuration
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER
from ggctl_support import ROOT
from gst_grabber.cameras import load_cameras
from gst_grabber.config import load_config

URL = "rtsp://admin:S3cr3tPw@10.0.0.5:554/stream1"
CAMERAS = [{"id": "entrance", "rtsp_url": URL, "lines": {"door": [[0.5, 0], [0.5, 1]]}},
           {"id": "platform", "rtsp_url": "rtsp://10.0.0.6/s", "max_fps": 2}]


def test_the_grabber_recipe_hands_the_list_to_the_container(built: Path, components: dict) -> None:
    builds = build.built_artifacts(built, list(components.values()))
    recipe = build.render_built(ROOT, components[GRABBER.key], components, "bucket", builds[GRABBER.key])
    assert recipe["ComponentConfiguration"]["DefaultConfiguration"]["cameras"] == []
    run = recipe["Manifests"][0]["Lifecycle"]["Run"]
    assert run["Setenv"]["GRABBER_CAMERAS"] == "{configuration:/cameras}"
    assert "-e GRABBER_CAMERAS " in run["Script"]
    # What the nuclei put there: the default list as JSON text is "no list", a deployed one is parsed.
    single = load_config([], {"GRABBER_RTSP_URL": URL})
    assert [c.id for c in load_cameras(single, None, json.dumps([]))] == [""]
    base = load_config([], {}, require_url=False)
    assert [c.id for c in load_cameras(base, None, json.dumps(CAMERAS))] == ["entrance", "platform"]


def test_a_top_level_list_goes_to_both_components_and_is_checked_by_each(tmp_path: Path, components: dict) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(json.dumps({"cameras": CAMERAS, "gst-grabber": {"max_fps": 4}}))
    merges = configuration.read_merges(path, components)
    assert merges[GRABBER.key] == {"max_fps": 4, "cameras": CAMERAS}
    assert merges[COUNTER.key] == {"cameras": CAMERAS}
    for key, merge in merges.items():
        configuration.checked_merge(ROOT, components[key], merge)  # each accepts the other's keys
    shown = configuration.masked(merges[GRABBER.key])
    assert shown["cameras"][0]["rtsp_url"] == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert "S3cr3tPw" not in json.dumps(shown)
    assert "holds a camera password" in configuration.stored_secret_warning(merges[GRABBER.key])


@pytest.mark.parametrize(
    ("merge", "message"),
    [
        ({"cameras": [CAMERAS[0], {"id": "entrance", "rtsp_url": "rtsp://h/x"}]},
         "configuration of com.example.gst-grabber: cameras[1].id: 'entrance' is already the id of cameras[0]"),
        ({"cameras": [{"id": "a", "rtsp_url": "http://h/x"}]}, "cameras[0].rtsp_url: 'http://h/x' is invalid"),
        ({"cameras": [{"id": "a", "rtsp_url": "rtsp://h/x", "fps": 3}]}, "cameras[0].fps: unknown key"),
        ({"cameras": CAMERAS, "rtsp_url": "rtsp://h/x"}, "set rtsp_url (one camera) or cameras (several), not both"),
        ({"cameras": CAMERAS, "max_width": -1}, "bad value for max_width"),
    ],
)
def test_bad_lists_fail_before_a_deployment(components: dict, merge: dict, message: str) -> None:
    with pytest.raises(GgctlError) as err:
        configuration.checked_merge(ROOT, components[GRABBER.key], merge)
    assert message in str(err.value) and "S3cr3tPw" not in str(err.value)
