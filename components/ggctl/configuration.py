"""Deployment configuration: per-component merges from a YAML file, checked before they reach a fleet.

The file maps a component (its ggctl key or its name) to keys of its DefaultConfiguration::

    count_people: {camera_id: door, topic: "shop/{thing}/{camera}", threshold: 0.6}
    gst-grabber: {rtsp_url: "rtsp://user:secret@10.0.0.5:554/stream1"}

A top-level ``cameras`` list goes to both components (each reads its keys of an entry and ignores the
other's; docs/content/how-to/several-cameras.md), unless a component's own mapping sets ``cameras``.
Values are validated by the components' own parsers, so a typo fails here and not on every device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import yaml

from ggctl import render
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER, Component

#: Keys never printed in clear (the camera URL is masked by the grabber's own masking instead).
SECRET_KEYS = ("influx_token",)


def read_merges(path: Path, components: Mapping[str, Component]) -> dict[str, dict]:
    """{component key: merge} from the YAML file; keys may be ggctl keys or component names."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise GgctlError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise GgctlError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise GgctlError(f"{path} must map component names to configuration mappings")
    by_name = {c.name: key for key, c in components.items()}
    merges: dict[str, dict] = {}
    for name, merge in data.items():
        key = name if name in components else by_name.get(name)
        if key is None and name == "cameras":
            continue
        if key is None:
            raise GgctlError(f"{path}: unknown component {name!r}; use one of {', '.join([*components, *by_name])}")
        if not isinstance(merge, dict):
            raise GgctlError(f"{path}: configuration of {name} must be a mapping of key: value")
        merges[key] = dict(merge)
    if "cameras" in data:  # shared by grabber and counter
        for key in (GRABBER.key, COUNTER.key):
            merges.setdefault(key, {}).setdefault("cameras", data["cameras"])
    return merges


def _check_counter(merge: Mapping[str, Any], where: str) -> None:
    """The counter's own schema (count_people.config), Greengrass keys included; the first error."""
    from count_people.config import configuration_errors

    errors = configuration_errors(dict(merge), where)
    if errors:
        raise GgctlError(errors[0])


def _check_grabber(merge: Mapping[str, Any], where: str) -> None:
    from frame_handoff.keys import config_key, keys, parse_key
    from gst_grabber.config import OPTIONS, RecipeKeys

    options = {config_key(option): option for option in (*OPTIONS, *keys(RecipeKeys))}
    for key, value in merge.items():
        option = options.get(key)
        if option is None or key == "cameras":
            continue  # secret ARN keys: render.secret_arns; cameras: below
        try:
            parse_key(option, str(value))
        except ValueError as exc:
            shown = "(hidden: it may hold a password)" if key == "rtsp_url" else repr(value)
            raise GgctlError(f"{where}: bad value for {key} {shown}: {exc}") from None
    _check_grabber_cameras(merge, where)


def _check_grabber_cameras(merge: Mapping[str, Any], where: str) -> None:
    """A grabber ``cameras`` list: parsed as the grabber will (its top-level keys as defaults); [] is none."""
    from gst_grabber.cameras import parse_cameras
    from gst_grabber.config import ConfigError, GrabberConfig

    if merge.get("cameras") in (None, []):
        return
    if merge.get("rtsp_url"):
        raise GgctlError(f"{where}: set rtsp_url (one camera) or cameras (several), not both")
    try:
        parse_cameras({k: v for k, v in merge.items() if k != "rtsp_url"}, GrabberConfig(url=""), where)
    except ConfigError as exc:
        raise GgctlError(f"{where}: {exc}") from None


CHECKS: dict[str, Callable[[Mapping[str, Any], str], None]] = {COUNTER.key: _check_counter, GRABBER.key: _check_grabber}


def validate_file(path: Path, component_key: str) -> list[str]:
    """The errors of the configuration in ``path`` (``{merge: ...}`` or the merge itself), one line each: all of
    them for the counter (its schema checks each key), the first for the grabber."""
    from count_people.config import configuration_errors
    from frame_handoff.keys import load_text, read_text_file

    try:
        data = load_text(read_text_file(str(path)))
    except ValueError as exc:
        return [str(exc)]
    if isinstance(data, dict) and "merge" in data and set(data) <= {"merge", "reset", "runWith"}:
        data = data["merge"]
    if component_key == COUNTER.key:
        return configuration_errors(data, "configuration")
    if not isinstance(data, dict):
        return ["configuration: expected a mapping of key: value"]
    try:
        CHECKS[component_key](data, "configuration")
    except GgctlError as exc:
        return [str(exc)]
    return []


#: Counter keys always deployed explicitly, so that the device's accessControl matches what it publishes on.
COUNTER_PINNED_KEYS = ("topic", "camera_id", "cameras", "local_pubsub")


def checked_merge(root: Path, component: Component, merge: Mapping[str, Any]) -> dict:
    """The merge to deploy, checked: keys must exist in the recipe (secret ARN keys included) and parse. The
    counter's sections (``detection: {threshold: 0.6}``) are deployed as their flat keys."""
    if component.key == COUNTER.key:
        from count_people.config import open_sections

        merge = open_sections(merge)
    defaults = render.default_configuration(root, component, secrets=True)
    where = f"configuration of {component.name}"
    unknown = sorted(set(merge) - set(defaults) | ({"accessControl"} & set(merge)))
    if unknown:
        allowed = ", ".join(k for k in defaults if k != "accessControl")
        raise GgctlError(f"{where}: unknown or ggctl-managed key {', '.join(unknown)}; valid keys: {allowed}")
    CHECKS[component.key](merge, where)
    render.secret_arns(component.key, merge)
    return dict(merge)


def derived_keys(root: Path, component: Component, thing: Optional[str] = None) -> Callable[[dict], dict]:
    """What ``ggctl deploy`` recomputes from a component's whole merged configuration: its accessControl
    (each camera's topics, secrets) and, for the counter, the keys that grant depends on, deployed explicitly.
    ``thing``: the target's thing name (None for a thing group), for literal local pub/sub grants."""
    defaults = render.default_configuration(root, component, secrets=True)

    def derive(merged: dict) -> dict:
        configuration = {**defaults, **merged}
        result = {key: configuration[key] for key in COUNTER_PINNED_KEYS} if component.key == COUNTER.key else {}
        policies = render.access_control(component.name, configuration, component.key, thing)
        if policies:
            result["accessControl"] = policies
        return result

    return derive


def stored_secret_warning(merge: Mapping[str, Any]) -> Optional[str]:
    """A warning when a camera password or token goes into the deployment document in clear."""
    from gst_grabber.masking import mask_url

    urls = [merge.get("rtsp_url"), *(c.get("rtsp_url") for c in merge.get("cameras") or [] if isinstance(c, dict))]
    if any(isinstance(url, str) and mask_url(url) != url for url in urls):
        return ("warning: rtsp_url holds a camera password, which is stored in the deployment document; "
                "put the URL in a Secrets Manager secret and set rtsp_secret_arn instead (ggctl build --secrets)")
    if merge.get("influx_token"):
        return ("warning: influx_token is stored in the deployment document; use a Secrets Manager secret and "
                "set influx_token_secret_arn instead (ggctl build --secrets)")
    return None


def masked(merge: Mapping[str, Any]) -> dict:
    """The merge as printed: the camera URL's password and tokens hidden."""
    from gst_grabber.masking import mask_url

    def shown(key: str, value: Any) -> Any:
        if key == "rtsp_url" and isinstance(value, str):
            return mask_url(value)
        if key == "cameras" and isinstance(value, list):
            return [masked(c) if isinstance(c, dict) else c for c in value]
        return "***" if key in SECRET_KEYS and value else value

    return {key: shown(key, value) for key, value in merge.items()}
