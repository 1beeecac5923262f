#!/bin/sh
# Install step of the count_people component: builds the venv at $1 from the wheel beside this script.
# Usage: install.sh VENV_DIR INSTALL_MXNET(true|false) [PYTHON]
#
# - Nothing is written next to this script: the artifact folder ({artifacts:decompressedPath}) is read-only
#   by contract (component recipe reference, "Recipe variables"); only VENV_DIR's parent (the work folder).
# - The nucleus runs Install at every start: a venv whose marker (written last) matches returns at once.
# - Venvs of other versions: the newest complete one is kept (a rollback to it starts without PyPI), older
#   ones are removed once this venv is complete.
# - pip keeps no cache unless PIP_CACHE_DIR is set (e.g. in the recipe's Install Setenv).
set -eu
src=$(cd "$(dirname "$0")" && pwd)
# Canonical path (nucleus lite's {work:path} ends with a slash), so that the clean-up below knows this venv.
parent=$(mkdir -p "$(dirname "$1")" && cd "$(dirname "$1")" && pwd -P)
venv=$parent/$(basename "$1")
mxnet=$2
python=${3:-python3}

case $mxnet in
  true) requirements="-r $src/requirements.txt -r $src/requirements-mxnet.txt" ;;
  false) requirements="-r $src/requirements.txt -r $src/requirements-numpy.txt" ;;
  *) echo "install.sh: install_mxnet must be true or false, got '$mxnet'" >&2; exit 2 ;;
esac
set -- "$src"/count_people_component-*.whl
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "install.sh: expected one count_people_component wheel in $src; rebuild with 'ggctl build count_people'" >&2
  exit 2
fi
wheel=$1
marker=.installed
wanted="$(cat "$src"/requirements*.txt "$wheel" | sha256sum | cut -c1-16) mxnet=$mxnet"
if [ -f "$venv/$marker" ] && [ "$(cat "$venv/$marker")" = "$wanted" ]; then
  echo "install.sh: $venv is up to date"
  exit 0
fi
cache=--no-cache-dir
[ -n "${PIP_CACHE_DIR:-}" ] && cache=

rm -rf "$venv"
"$python" -m venv "$venv"
pip="$venv/bin/python -m pip --disable-pip-version-check --quiet $cache"
# shellcheck disable=SC2086 # several -r options and the optional cache flag
$pip install $requirements
# gluoncv pulls the GUI build of OpenCV, which needs libGL (absent on most devices): keep only the headless one.
if $pip show opencv-python >/dev/null 2>&1; then
  $pip uninstall -y opencv-python opencv-python-headless
  $pip install --no-deps "$(grep '^opencv-python-headless==' "$src/requirements.txt")"
fi
$pip install --no-deps --no-index "$wheel"
echo "$wanted" > "$venv/$marker"
echo "install.sh: built $venv"

# Keep this venv and the newest other complete one; remove the rest (bounded disk use).
# shellcheck disable=SC2012 # names are ours (venv-VERSION)
ls -1dt "$parent"/venv-*/"$marker" 2>/dev/null | while read -r done_marker; do
  dir=$(dirname "$done_marker")
  [ "$dir" = "$venv" ] && continue
  if [ -z "${kept:-}" ]; then kept=$dir; continue; fi
  rm -rf "$dir" && echo "install.sh: removed old $dir"
done
for partial in "$parent"/venv-*; do  # interrupted builds of other versions
  [ -d "$partial" ] && [ ! -f "$partial/$marker" ] && [ "$partial" != "$venv" ] && rm -rf "$partial"
done
exit 0
