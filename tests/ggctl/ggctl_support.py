"""Constants and helpers shared by the ggctl tests (tests/ggctl/conftest.py holds the fixtures).

RECIPE_SCHEMA covers the recipe fields Greengrass requires or that our recipes rely on (recipe format
2020-01-25), written from the Greengrass component recipe reference independently of ggctl's renderer,
so that the tests check rendered recipes against the service's rules rather than ggctl's own idea.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml
from ggctl import build
from ggctl.project import GDK_CONFIG, Component, find_root

ROOT = find_root(Path(__file__).parent)
ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"  # not us-east-1, so that bucket creation needs its LocationConstraint


#: Image ID of the stand-in grabber image (what `docker image inspect` reports for a built one).
FAKE_IMAGE_ID = "sha256:" + "ab" * 32


def fake_grabber(out: Path, component: Component, content: bytes, architecture: str = "amd64") -> build.Artifact:
    """Writes a stand-in grabber artifact and its manifest entry, as `ggctl build gst-grabber` would."""
    folder = out / "artifacts" / component.name / component.version
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / build.grabber_file(architecture)
    path.write_bytes(content)
    artifact = build.Artifact(component.key, component.name, component.version, path.name, str(path),
                              build.sha256_file(path), len(content), architecture, FAKE_IMAGE_ID)
    build.record(out, component.key, build.Built([artifact]))
    return artifact


SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"
STEP = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["Script"],
            "properties": {
                "Script": {"type": "string", "minLength": 1},
                "Timeout": {"type": "integer", "minimum": 1},
                "RequiresPrivilege": {"type": "boolean"},
                "Setenv": {"type": "object", "additionalProperties": {"type": "string"}},
                "Skipif": {"type": "string"},
            },
            "additionalProperties": False,
        },
    ]
}
RECIPE_SCHEMA = {
    "type": "object",
    "required": ["RecipeFormatVersion", "ComponentName", "ComponentVersion", "ComponentDescription",
                 "ComponentPublisher", "Manifests"],
    "additionalProperties": False,
    "properties": {
        "RecipeFormatVersion": {"const": "2020-01-25"},
        "ComponentName": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
        "ComponentVersion": {"type": "string", "pattern": SEMVER},
        "ComponentType": {"enum": ["aws.greengrass.generic", "aws.greengrass.lambda", "aws.greengrass.plugin",
                                   "aws.greengrass.nucleus"]},
        "ComponentDescription": {"type": "string", "minLength": 1},
        "ComponentPublisher": {"type": "string", "minLength": 1},
        "ComponentDependencies": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["VersionRequirement"],
                "properties": {
                    "VersionRequirement": {"type": "string", "pattern": r"^[<>=^~]*\d"},
                    "DependencyType": {"enum": ["HARD", "SOFT"]},
                },
                "additionalProperties": False,
            },
        },
        "ComponentConfiguration": {
            "type": "object",
            "required": ["DefaultConfiguration"],
            "properties": {"DefaultConfiguration": {"type": "object"}},
            "additionalProperties": False,
        },
        "Manifests": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["Platform", "Lifecycle"],
                "additionalProperties": False,
                "properties": {
                    "Platform": {"type": "object", "required": ["os"]},
                    "Lifecycle": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": {"enum": ["Bootstrap", "Install", "Startup", "Run",
                                                   "Shutdown", "Recover"]},
                        "additionalProperties": STEP,
                    },
                    "Artifacts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["URI", "Digest", "Algorithm"],
                            "additionalProperties": False,
                            "properties": {
                                "URI": {"type": "string", "pattern": r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+"},
                                "Digest": {"type": "string", "pattern": r"^[A-Za-z0-9+/]{43}=$"},
                                "Algorithm": {"const": "SHA-256"},
                                "Unarchive": {"enum": ["NONE", "ZIP"]},
                                "Permission": {"type": "object"},
                            },
                        },
                    },
                },
            },
        },
    },
}


# --- The GDK CLI (aws-greengrass-gdk-cli v1.6.2: GitHub only, not on PyPI), as far as our projects meet it ---

GDK_VERSION = (1, 6, 2)
#: What GDK's configuration schema requires of a project, restated (gdk/static/config_schema.json:5-10 one
#: component object, :35-62 build.build_system, :138-140 publish.bucket, :143-148 author, version, build,
#: publish; :152-161 gdk_version).
GDK_CONFIG_SCHEMA = {
    "type": "object",
    "required": ["component", "gdk_version"],
    "properties": {
        "gdk_version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "component": {
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["author", "version", "build", "publish"],
                "properties": {
                    "build": {"type": "object", "required": ["build_system"]},
                    "publish": {"type": "object", "required": ["bucket"]},
                },
            },
        },
    },
}


class GdkError(Exception):
    """Where GDK stops before building: the reason its error message ends with."""


def gdk_project(folder: Path) -> tuple[str, dict, Path]:
    """(component name, its settings, recipe file) of the GDK project ``folder``, as GDK checks them first.

    gdk-config.json in that very folder (gdk/common/configuration.py:94-97), a gdk_version no newer than the
    CLI (:30, :61-71), then the schema, whose error message GDK prints (:31-35), then exactly one recipe.json
    or recipe.yaml beside it (gdk/common/config/GDKProject.py:50-62). GDK would follow a link (:63) and name
    the built recipe after the link's target; this repository holds none, so a link is refused here.
    """
    path = folder / GDK_CONFIG
    if not path.is_file():
        raise GdkError(f"no {GDK_CONFIG} in {folder}")
    config = json.loads(path.read_text(encoding="utf-8"))
    wanted = tuple(int(part) for part in str(config.get("gdk_version", "0.0.0")).split("."))
    if wanted > GDK_VERSION:
        raise GdkError(f"needs GDK {config['gdk_version']}")
    try:
        jsonschema.validate(config, GDK_CONFIG_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise GdkError(exc.message) from None
    recipes = [folder / name for name in ("recipe.json", "recipe.yaml") if (folder / name).exists()]
    if len(recipes) != 1:
        raise GdkError(f"{len(recipes)} of recipe.json and recipe.yaml in {folder}, not one")
    if recipes[0].is_symlink():
        raise GdkError(f"{recipes[0]} is a link, not the recipe template itself")
    ((name, settings),) = config["component"].items()
    return name, settings, recipes[0]


def gdk_component_build(folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gdk component build` of a custom-build project: greengrass-build/ emptied and its recipes/ and
    artifacts/NAME/VERSION/ made, then the custom command run as is, from ``folder``
    (gdk/commands/component/BuildCommand.py:22-53, :73-78). The command's ``ggctl`` is this venv's."""
    name, settings, _ = gdk_project(folder)
    assert settings["build"]["build_system"] == "custom"
    out = folder / build.GDK_BUILD_DIR
    shutil.rmtree(out, ignore_errors=True)
    (out / "recipes").mkdir(parents=True)
    (out / "artifacts" / name / settings["version"]).mkdir(parents=True)
    env = {**(env or os.environ), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(settings["build"]["custom_build_command"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=1500)


def gdk_built(folder: Path) -> tuple[dict, list[str]]:
    """(built recipe, artifact file names) that `gdk component publish` takes from greengrass-build/: the recipe
    under the project recipe's file name (gdk/commands/component/transformer/PublishRecipeTransformer.py:18),
    the artifacts under artifacts/NAME/VERSION/ (gdk/common/config/GDKProject.py:24-29)."""
    name, settings, recipe = gdk_project(folder)
    out = folder / build.GDK_BUILD_DIR
    built = yaml.safe_load((out / "recipes" / recipe.name).read_text(encoding="utf-8"))
    return built, sorted(path.name for path in (out / "artifacts" / name / settings["version"]).iterdir())


def project_copy(target: Path) -> Path:
    """A copy of the repository's files without build outputs, for builds that write into the tree."""
    shutil.copytree(ROOT, target, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", build.GDK_BUILD_DIR, "__pycache__", "*.egg-info", ".*_cache", "node_modules"))
    return target
