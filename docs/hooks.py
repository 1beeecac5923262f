"""MkDocs hook: adds the pages kept in docs/ itself (outside docs_dir) to the site.

docs/kubernetes.md stays where the manifests in docker/kubernetes/ and tests/kubernetes/ name it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

OUTSIDE_DOCS_DIR = ("kubernetes.md",)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Appends each page of OUTSIDE_DOCS_DIR from the folder of mkdocs.yml."""
    folder = str(Path(config.config_file_path).parent)
    for name in OUTSIDE_DOCS_DIR:
        files.append(File(name, folder, config.site_dir, config.use_directory_urls))
    return files
