"""Constants and helpers shared by the ggctl tests (tests/ggctl/conftest.py holds the fixtures).

RECIPE_SCHEMA covers the recipe fields Greengrass requires or that our recipes rely on (recipe format
2020-01-25), written from the Greengrass component recipe reference independently of ggctl's renderer,
so that the tests check rendered recipes against the service's rules rather than ggctl's own idea.
"""

from __future__ import annotations

from pathlib import Path

from ggctl import build
from ggctl.project import Component, find_root

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
