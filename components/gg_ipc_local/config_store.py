"""The component's configuration tree, as the nucleus keeps it: get by key path, merge, changed leaves."""

from __future__ import annotations

import copy
from typing import Any


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

    def _merge_map(self, node: dict[str, Any], value: dict[str, Any], path: list[str]) -> list[list[str]]:
        changed = []
        for key, item in value.items():
            if isinstance(item, dict) and isinstance(node.get(key), dict):
                changed += self._merge_map(node[key], item, [*path, key])
            elif node.get(key, object()) != item:
                node[key] = copy.deepcopy(item)
                changed.append([*path, key])
        return changed
