"""The two components of this project and where their pieces live: one folder name per component, the same
in each top-level folder (components/NAME source, recipes/NAME recipe template and GDK project, docker/NAME
Dockerfile).

Name, version, publisher, bucket prefix and region come from each component's ``gdk-config.json`` so that
``gdk`` and ``ggctl`` build and publish the same thing; ``ggctl --name KEY=NAME`` overrides the name. GDK
requires publisher and bucket in each project's file (aws-greengrass-gdk-cli v1.6.2
gdk/static/config_schema.json:143-148 author, version, build, publish; :138-140 publish.bucket), so both files
hold them; ggctl publishes both components to one bucket in one region and refuses files that disagree.
The top-level gdk-config.json is no GDK project: GDK wants the recipe beside it (see ``RECIPE``), and the
top level holds none, so it only tells GDK, in the message GDK prints, where the projects are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ggctl.errors import GgctlError

GDK_CONFIG = "gdk-config.json"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


#: The recipe template's file name in each GDK project folder: GDK looks for exactly recipe.json or
#: recipe.yaml in the folder it runs in (aws-greengrass-gdk-cli v1.6.2 gdk/common/config/GDKProject.py:50-65).
RECIPE = "recipe.yaml"


@dataclass(frozen=True)
class Spec:
    """Where a component's pieces are, relative to the repository root: ``folder`` in each top-level folder."""

    key: str  # how the CLI and the deployment configuration file name it
    folder: str  # its Python package under components/, and its folder under recipes/ and docker/
    artifact: str  # file name of its one artifact

    @property
    def gdk_dir(self) -> str:
        """Its GDK project: gdk-config.json beside the recipe template (`gdk component build` runs here)."""
        return f"recipes/{self.folder}"

    @property
    def template(self) -> str:
        return f"{self.gdk_dir}/{RECIPE}"

    @property
    def dockerfile(self) -> str:
        return f"docker/{self.folder}/Dockerfile"


COUNTER = Spec("count_people", "count_people", "count_people.zip")
GRABBER = Spec("gst-grabber", "gst_grabber", "gst-grabber.tar.gz")
SPECS: dict[str, Spec] = {spec.key: spec for spec in (GRABBER, COUNTER)}  # build and publish order
#: Where a user sets names, versions, publisher, bucket and region: every component's GDK project file.
GDK_PROJECTS = " and ".join(f"{spec.gdk_dir}/{GDK_CONFIG}" for spec in SPECS.values())


@dataclass(frozen=True)
class Component:
    spec: Spec
    name: str
    version: str
    publisher: str
    bucket_prefix: str
    region: str

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def image(self) -> str:
        """Docker image tag saved in the grabber artifact (the container name is the key)."""
        return f"{self.key}:{self.version}"


def find_root(start: Optional[Path] = None) -> Path:
    """The repository root above ``start`` (so that GDK's custom build can call ggctl from a component folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COUNTER.template).is_file() and (folder / GDK_CONFIG).is_file():
            return folder
    raise GgctlError(f"no project found at or above {here}; run ggctl inside the repository or pass --root")


def read_gdk_config(path: Path) -> tuple[str, dict]:
    """(component name, its settings) of a GDK 1.x configuration, which holds exactly one component."""
    try:
        components = json.loads(path.read_text(encoding="utf-8"))["component"]
        (name, settings), = components.items()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GgctlError(f"{path}: not a GDK configuration with one component ({exc})") from None
    return name, settings


def load_components(root: Path, names: Mapping[str, str] | None = None) -> dict[str, Component]:
    """Every component with its settings from gdk-config.json; ``names`` maps keys to overriding names."""
    names = dict(names or {})
    unknown = set(names) - set(SPECS)
    if unknown:
        raise GgctlError(f"unknown component {', '.join(sorted(unknown))}; choose from {', '.join(SPECS)}")
    components = {}
    for key, spec in SPECS.items():
        path = root / spec.gdk_dir / GDK_CONFIG
        name, settings = read_gdk_config(path)
        version = str(settings.get("version", ""))
        if not SEMVER.match(version):
            raise GgctlError(f"{path}: version must be a fixed MAJOR.MINOR.PATCH (builds stay offline), "
                             f"got {version!r}")
        publish = settings.get("publish", {})
        components[key] = Component(
            spec, names.get(key, name), version, str(settings.get("author", "")),
            str(publish.get("bucket", "")), str(publish.get("region", "")),
        )
    _check_one_destination(components)
    return components


def _check_one_destination(components: Mapping[str, Component]) -> None:
    """ggctl publishes every component to one bucket in one region: two GDK projects naming two is an error."""
    destinations = {(c.bucket_prefix, c.region): c for c in components.values()}
    if len(destinations) > 1:
        named = ", ".join(f"{c.spec.gdk_dir}/{GDK_CONFIG} has {bucket!r} in {region!r}"
                          for (bucket, region), c in destinations.items())
        raise GgctlError(f"publish.bucket and publish.region differ ({named}); ggctl publishes all components "
                         "to one bucket in one region: make them agree")


def select(components: Mapping[str, Component], keys: Sequence[str]) -> list[Component]:
    """The named components (all when none is named), in build order."""
    unknown = [key for key in keys if key not in components]
    if unknown:
        raise GgctlError(f"unknown component {', '.join(unknown)}; choose from {', '.join(components)}")
    return [c for key, c in components.items() if not keys or key in keys]


def next_patch(version: str) -> str:
    major, minor, patch = (int(part) for part in version.split("."))
    return f"{major}.{minor}.{patch + 1}"


def with_version(component: Component, version: str) -> Component:
    return replace(component, version=version)


def parse_assignments(items: Sequence[str], what: str) -> dict[str, str]:
    """KEY=VALUE command-line items as a mapping; a malformed one is a one-line error."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise GgctlError(f"{what} must look like KEY=VALUE, got {item!r}")
        result[key] = value
    return result


@dataclass(frozen=True)
class Artifact:
    """A built artifact: what publish uploads and what the recipe's Digest says."""

    key: str
    name: str
    version: str
    file: str
    path: str
    sha256: str  # base64, as Greengrass recipes and S3 checksums write it
    size: int
    architecture: str = ""  # Greengrass platform architecture of a grabber image
    image_id: str = ""  # docker image ID (sha256:...) the grabber's Install compares
