"""The documentation site builds with ``mkdocs build --strict``, and README stays a short entry into it.

Strict mode turns every warning into a failure: a page missing from the nav's files, a link to a page or
an anchor that does not exist. README is read on GitHub and PyPI, where none of that is checked, so its links
are checked here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from support import REPO_ROOT

DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
#: Markdown links and images: ``[text](target)`` and ``![alt](target)``; the target up to a space or ``)``.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
#: A repository path named in prose or commands: a top-level folder, then a file or folder name.
REPO_PATH = re.compile(r"(?<![\w./-])((?:components|recipes|docker|scripts|tests|docs)/[\w./-]*[\w/])")


def build(site: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(DOCS / "mkdocs.yml"), "-d", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


def nav_pages(nav: list) -> list[str]:
    """Every page path named in mkdocs.yml's nav, depth first."""
    pages = []
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def config() -> dict:
    return yaml.safe_load((DOCS / "mkdocs.yml").read_text(encoding="utf-8"))


def site_sources() -> set[str]:
    """The repository path of every nav page (all under docs_dir)."""
    content = DOCS / config()["docs_dir"]
    return {(content / page).relative_to(REPO_ROOT).as_posix() for page in nav_pages(config()["nav"])}


def readme_local_links() -> list[str]:
    """README's links into this repository (not URLs, not in-page anchors), without their anchors."""
    targets = LINK.findall(README.read_text(encoding="utf-8"))
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|#", t)]


def test_site_builds_strict(tmp_path):
    result = build(tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "how-to" / "kubernetes.html").is_file()


def test_every_page_is_in_the_nav():
    """A page left out of the nav is built but found by nobody (mkdocs only mentions it at INFO level)."""
    pages = {p.relative_to(REPO_ROOT).as_posix() for p in (DOCS / config()["docs_dir"]).rglob("*.md")}
    missing = sorted(pages - site_sources())
    assert not missing, f"pages not in docs/mkdocs.yml's nav: {missing}"


def test_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines < 250, f"README.md has {lines} lines: move the details into docs/content/"


def test_readme_links_resolve_and_lead_into_the_docs():
    links = readme_local_links()
    broken = [link for link in links if not (REPO_ROOT / link).exists()]
    assert not broken, f"README.md links to files that do not exist: {broken}"
    assert "docs/content/getting-started.md" in links, "README.md must lead to the getting-started page"
    hidden = [link for link in links if link.endswith(".md") and link not in site_sources()]
    assert not hidden, f"README.md links to pages the site does not show: {hidden}"


def test_every_repository_path_the_pages_name_exists():
    """A moved file leaves no stale path in a command or a sentence (links are checked by mkdocs and above)."""
    pages = [README, *(DOCS / config()["docs_dir"]).rglob("*.md")]
    stale = sorted({f"{page.relative_to(REPO_ROOT)}: {path}" for page in pages
                    for path in REPO_PATH.findall(page.read_text(encoding="utf-8"))
                    if "NAME" not in path and not (REPO_ROOT / path).exists()})
    assert not stale, f"paths that do not exist: {stale}"


def test_the_accuracy_tables_are_the_shipped_calibrations():
    """The held-out tables of the detectors page and README are what the shipped calibration files hold."""
    script = REPO_ROOT / "scripts" / "calibration_tables.py"
    for page, options in ((DOCS / "content" / "how-to" / "detectors.md", []), (README, ["--summary"])):
        printed = subprocess.run([sys.executable, str(script), *options], capture_output=True, text=True,
                                 timeout=60, check=True).stdout.strip()
        assert printed in page.read_text(encoding="utf-8"), \
            f"{page.name} is stale: paste what scripts/calibration_tables.py {' '.join(options)} prints"
