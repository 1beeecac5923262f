#!/bin/sh
# Install step of the count_people component: builds the venv at $1 from the wheel beside this script.
# Usage: install.sh VENV_DIR INSTALL_MXNET(auto|true|false) [PYTHON]
#
# - Which stack: MXNet 1.9.1 needs a Python 3.9 to 3.11 (its numpy<1.24 has no wheels for newer ones) on x86_64
#   or aarch64 (its only wheels). true and auto take the first such interpreter of PYTHON, python3.11, python3.10,
#   python3.9 on PATH; without one, auto (and false) build the venv with PYTHON and ONNX Runtime, which runs the
#   GluonCV network's ONNX export shipped in models/ (ggctl build makes it), and true fails with one line.
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

# Exit 0 when interpreter $1 can run MXNet 1.9.1 (see above).
mxnet_runs_on() {
  "$1" -c 'import platform, sys
sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 11) and platform.machine() in ("x86_64", "aarch64")))' \
    2>/dev/null
}
case $mxnet in
  true|auto|false) ;;
  *) echo "install.sh: install_mxnet must be auto, true or false, got '$mxnet'" >&2; exit 2 ;;
esac
stack=onnx
if [ "$mxnet" != false ]; then
  for candidate in "$python" python3.11 python3.10 python3.9; do
    if command -v "$candidate" >/dev/null 2>&1 && mxnet_runs_on "$candidate"; then
      python=$candidate stack=mxnet
      break
    fi
  done
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || version=none
if [ "$stack" = onnx ] && [ "$mxnet" = true ]; then
  echo "install.sh: install_mxnet is true but no Python 3.9 to 3.11 on PATH can run MXNet 1.9.1 here ($python:" \
    "$version, $(uname -m)); install python3.11, or set install_mxnet to auto to run the ONNX export instead" >&2
  exit 2
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "install.sh: $python ($version) cannot run the counter: it needs Python 3.9 or newer; install one and" \
    "set install_python to it" >&2
  exit 2
fi
if [ "$stack" = mxnet ]; then
  requirements="-r $src/requirements.txt -r $src/requirements-mxnet.txt"
else
  requirements="-r $src/requirements.txt -r $src/requirements-numpy.txt"
  if ! ls "$src"/models/*.onnx >/dev/null 2>&1; then
    echo "install.sh: warning: no MXNet here and no ONNX export in this build: the default gluoncv network" \
      "cannot run; rebuild with 'ggctl build' where MXNet runs, or configure an ONNX or Darknet model" >&2
  fi
fi
echo "install.sh: $stack stack with $python (Python $version)"
set -- "$src"/count_people_component-*.whl
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "install.sh: expected one count_people_component wheel in $src; rebuild with 'ggctl build count_people'" >&2
  exit 2
fi
wheel=$1
marker=.installed
wanted="$(cat "$src"/requirements*.txt "$wheel" | sha256sum | cut -c1-16) $stack $(command -v "$python") $version"
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
