#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh), then runs the whole test suite, then the clean-install stage:
# setup.sh and the clean_install tests again in a fresh container (scripts/clean_install_check.py), which
# proves the set-up installs everything on a machine where nothing was installed by hand.
# Extra arguments go to pytest, e.g. scripts/test.sh -k mqtt (the stage is then left out).
# SKIP_CLEAN_INSTALL=1 leaves the stage out on a developer machine; CI (CI=true) always runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --quiet --strict -f docs/mkdocs.yml  # the site, into build/docs-site
.venv/bin/python -m pytest -q -rs "$@"
if [[ ${CI:-} == true ]] || { [[ -z ${SKIP_CLEAN_INSTALL:-} ]] && (($# == 0)); }; then
  .venv/bin/python scripts/clean_install_check.py
else
  echo "clean-install: left out (SKIP_CLEAN_INSTALL set or pytest arguments given)"
fi
