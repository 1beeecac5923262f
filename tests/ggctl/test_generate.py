"""``ggctl generate``: the files generated from the key declarations are up to date, and a hand edit is found."""

from __future__ import annotations

import shutil

import yaml
from ggctl.cli import main
from ggctl.generate import REFERENCE, stale
from ggctl.project import COUNTER, GRABBER
from ggctl_support import ROOT


def test_the_generated_files_are_up_to_date():
    assert stale(ROOT) == [], "run: ggctl generate"


def test_a_hand_edit_is_found_stale_and_regenerated(tmp_path, capsys):
    for template in (COUNTER.template, GRABBER.template):
        (tmp_path / template).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / template, tmp_path / template)
    assert main(["generate", "--check", "--root", str(tmp_path)]) == 1  # the reference and schema are missing
    assert main(["generate", "--root", str(tmp_path)]) == 0 and stale(tmp_path) == []
    recipe = tmp_path / GRABBER.template
    recipe.write_text(recipe.read_text().replace("jpeg_quality: 85", "jpeg_quality: 80"))
    assert main(["generate", "--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"stale: {GRABBER.template}"


def test_the_grabber_recipe_defaults_are_its_declared_defaults():
    from frame_handoff.keys import config_key, parse_key
    from gst_grabber.config import OPTIONS, GrabberConfig

    defaults = yaml.safe_load((ROOT / GRABBER.template).read_text())["ComponentConfiguration"]["DefaultConfiguration"]
    declared = GrabberConfig()
    for option in OPTIONS:
        if option.metadata.get("recipe", True) and option.name != "url":  # "" is "no URL", not a URL to parse
            assert parse_key(option, defaults[config_key(option)]) == getattr(declared, option.name), option.name
    assert defaults["cameras"] == [] and defaults["rtsp_url"] == ""
    assert "| `jpeg_quality` | `GRABBER_JPEG_QUALITY` | integer | `85` | 1..100 | JPEG quality |" in (
        ROOT / REFERENCE).read_text()
