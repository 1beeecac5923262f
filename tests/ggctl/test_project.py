"""The repository layout that ggctl.project declares: the promised top level, each component's pieces under one
name in every top-level folder, a GDK project per component, no symbolic link, and the docs' map of it all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GDK_CONFIG, RECIPE, SPECS, load_components
from ggctl_support import ROOT, GdkError, gdk_built, gdk_project, project_copy

#: The top level the project's design fixes (issue 23), plus the documentation site.
TOP_LEVEL = {"components", "recipes", GDK_CONFIG, "docker", "scripts", "tests", "pyproject.toml", "README.md", "docs"}
MAP = ROOT / "docs/content/concepts/architecture.md"


def tracked() -> list[str]:
    """``git ls-files -s`` lines (mode, object, stage, path) of this checkout."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    return subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_top_level_is_the_promised_one() -> None:
    names = {line.split("\t", 1)[1].split("/")[0] for line in tracked()}
    assert {name for name in names if not name.startswith(".")} == TOP_LEVEL


def test_no_symbolic_link_is_tracked() -> None:
    links = [line.split("\t", 1)[1] for line in tracked() if line.startswith("120000 ")]
    assert not links, f"symbolic links in the tree: {links}"


@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_each_component_has_its_pieces_under_one_name(spec) -> None:
    for piece in (f"components/{spec.folder}/__init__.py", spec.template, f"{spec.gdk_dir}/{GDK_CONFIG}",
                  spec.dockerfile):
        path = ROOT / piece
        assert path.is_file() and not path.is_symlink(), f"{piece} is missing or a link"
    name, _, recipe = gdk_project(ROOT / spec.gdk_dir)
    assert recipe.name == RECIPE
    assert load_components(ROOT)[spec.key].name == name


def test_recipes_holds_one_folder_per_component() -> None:
    assert {path.name for path in (ROOT / "recipes").iterdir() if path.is_dir()} == {s.folder for s in SPECS.values()}


def test_gdk_at_the_top_level_says_where_the_projects_are() -> None:
    """GDK needs its recipe beside gdk-config.json, and the top level has none: the top-level file is no project,
    and the message GDK stops with names every component's project folder."""
    assert not [name for name in ("recipe.json", "recipe.yaml") if (ROOT / name).exists()]
    with pytest.raises(GdkError) as refused:
        gdk_project(ROOT)
    for spec in SPECS.values():
        assert spec.gdk_dir in str(refused.value)


def test_the_docs_map_names_each_piece_where_it_is() -> None:
    text = MAP.read_text(encoding="utf-8")
    for spec in SPECS.values():
        for piece in (f"components/{spec.folder}/", spec.template, f"{spec.gdk_dir}/{GDK_CONFIG}", spec.dockerfile):
            assert f"`{piece}`" in text, f"{MAP.name} does not name {piece}"


def test_projects_publishing_to_two_buckets_are_refused(tmp_path: Path) -> None:
    """ggctl publishes every component to one bucket; GDK makes each project name it, so they must agree."""
    for spec in SPECS.values():
        (tmp_path / spec.gdk_dir).mkdir(parents=True)
        config = json.loads((ROOT / spec.gdk_dir / GDK_CONFIG).read_text())
        if spec.folder == "gst_grabber":
            next(iter(config["component"].values()))["publish"]["bucket"] = "other-bucket"
        (tmp_path / spec.gdk_dir / GDK_CONFIG).write_text(json.dumps(config))
    with pytest.raises(GgctlError, match=r"^publish.bucket and publish.region differ \(.*'other-bucket'.*\); "
                                         r"ggctl publishes all components to one bucket in one region"):
        load_components(tmp_path)


@pytest.mark.skipif(shutil.which("gdk") is None, reason="no GDK CLI on PATH (pip install "
                    "git+https://github.com/aws-greengrass/aws-greengrass-gdk-cli.git@v1.6.2)")
def test_the_real_gdk_cli_refuses_the_top_level_and_builds_the_counter(tmp_path: Path) -> None:
    """Where GDK is installed: what gdk_project and gdk_component_build model, from GDK itself."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    top = subprocess.run(["gdk", "component", "build"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert top.returncode == 1 and all(spec.gdk_dir in top.stdout + top.stderr for spec in SPECS.values())
    folder = project_copy(tmp_path / "project") / COUNTER.gdk_dir
    built = subprocess.run(["gdk", "component", "build"], cwd=folder, env=env, capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    assert gdk_built(folder)[1] == [COUNTER.artifact]
