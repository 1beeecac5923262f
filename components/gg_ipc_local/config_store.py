"""The component's configuration tree, as the nucleus keeps it: get by key path, merge, changed leaves."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("gg_ipc_local")


class ComponentConfiguration:
    """The component's configuration tree, updated by UpdateConfiguration and deployments."""

    def __init__(self, initial: dict[str, Any]) -> None:
        self.data: dict[str, Any] = copy.deepcopy(initial)

    def get(self, path: list[str]) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                raise KeyError("/".join(path))
            node = node[key]
        return node

    def merge(self, path: list[str], value: Any) -> list[list[str]]:
        """Merge ``value`` at ``path`` (maps merge deeply, anything else replaces); the changed leaf paths."""
        if not path and not isinstance(value, dict):
            raise ValueError("valueToMerge must be an object when keyPath is empty")
        node = self.data
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if not path:
            return self._merge_map(self.data, value, [])
        key = path[-1]
        if isinstance(value, dict):
            if not isinstance(node.get(key), dict):
                node[key] = {}
            return self._merge_map(node[key], value, path)
        if node.get(key, object()) == value:
            return []
        node[key] = copy.deepcopy(value)
        return [path]

    def merged(self, value: dict[str, Any]) -> tuple[dict[str, Any], list[list[str]]]:
        """What a merge of ``value`` at the root would give, without applying it: (tree, changed leaves)."""
        proposal = ComponentConfiguration(self.data)
        changed = proposal.merge([], value)
        return proposal.data, changed

    def resolved(self, defaults: dict[str, Any], reset: Sequence[str], merge: dict[str, Any]) -> dict[str, Any]:
        """The configuration a deployment's configurationUpdate gives, as the Java nucleus resolves it
        (aws-greengrass-nucleus v2.18.2 src/main/java/com/aws/greengrass/componentmanager/
        KernelConfigResolver.java:352-393): the running configuration; less each ``reset`` JSON pointer (``""``
        the whole document; a pointer through an array element is skipped, :399-431); the recipe's defaults
        filling only what is missing (merged with timestamp 1, :379-386); then ``merge`` (:388-391).
        ValueError for a pointer that is not one."""
        proposal = ComponentConfiguration(self.data)
        for pointer in reset:
            if pointer == "":
                proposal.data = {}
                break
            path = _pointer_path(pointer)
            if any(key.isdigit() for key in path):
                log.error("reset %r not applied: it points to an element of an array", pointer)
                continue
            parent = proposal.data
            for key in path[:-1]:
                parent = parent.get(key) if isinstance(parent, dict) else None
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
        _fill(proposal.data, defaults)
        proposal.merge([], merge)
        return proposal.data

    def replace(self, data: dict[str, Any]) -> list[list[str]]:
        """Replace the whole tree, as a deployment does (DeploymentActivator.java:139-146); the changed leaves,
        removed ones included."""
        changed = _differences(self.data, data, [])
        self.data = copy.deepcopy(data)
        return changed

    def _merge_map(self, node: dict[str, Any], value: dict[str, Any], path: list[str]) -> list[list[str]]:
        changed = []
        for key, item in value.items():
            if isinstance(item, dict) and isinstance(node.get(key), dict):
                changed += self._merge_map(node[key], item, [*path, key])
            elif node.get(key, object()) != item:
                node[key] = copy.deepcopy(item)
                changed.append([*path, key])
        return changed


def _pointer_path(pointer: str) -> list[str]:
    """RFC 6901: ``/a/b~1c`` is ``["a", "b/c"]``."""
    if not pointer.startswith("/"):
        raise ValueError(f"reset path {pointer!r} is not a JSON pointer (it must start with /, or be empty)")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _fill(node: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if key not in node:
            node[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(node[key], dict):
            _fill(node[key], value)


def _differences(old: Any, new: Any, path: list[str]) -> list[list[str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [changed for key in {**old, **new}
                for changed in _differences(old.get(key, _ABSENT), new.get(key, _ABSENT), [*path, key])]
    return [] if old == new and type(old) is type(new) else [path]


_ABSENT = object()
