"""GStreamer with some plugins hidden, for tests of what happens when a package is missing.

Points GStreamer at a copy (symlinks) of the system plugin folder without the plugins that provide the given
elements, with a private registry: real GStreamer and real processes, and no package is removed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def plugin_file(element: str) -> Path:
    """The plugin library that provides ``element``, as gst-inspect-1.0 reports it."""
    shown = subprocess.run(["gst-inspect-1.0", element], capture_output=True, text=True, timeout=60).stdout
    lines = [ln.split(None, 1)[1] for ln in shown.splitlines() if ln.strip().startswith("Filename")]
    assert lines, f"gst-inspect-1.0 does not know {element}"
    return Path(lines[0].strip()).resolve()


def env_without(tmp_path: Path, *elements: str) -> dict:
    """``os.environ`` plus the variables that make GStreamer see every system plugin except those of ``elements``."""
    hidden = {plugin_file(e).name for e in elements}
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for library in plugin_file("fakesink").parent.glob("*.so"):
        if library.name not in hidden:
            (plugins / library.name).symlink_to(library)
    return {**os.environ, "GST_PLUGIN_SYSTEM_PATH_1_0": str(plugins), "GST_PLUGIN_PATH_1_0": "",
            "GST_REGISTRY_1_0": str(tmp_path / "registry.bin")}
