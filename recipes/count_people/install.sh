#!/bin/sh
# Install step of the count_people component: builds the venv at $1 once per component version (the
# recipe puts the version in the path) and MXNet choice, so restarts and reboots skip pip entirely.
# Usage: install.sh VENV_DIR INSTALL_MXNET(true|false) [PYTHON]
set -eu
src=$(cd "$(dirname "$0")" && pwd)
venv=$1
mxnet=$2
python=${3:-python3}

case $mxnet in
  true) requirements="-r $src/requirements.txt -r $src/requirements-mxnet.txt" ;;
  false) requirements="-r $src/requirements.txt -r $src/requirements-numpy.txt" ;;
  *) echo "install.sh: install_mxnet must be true or false, got '$mxnet'" >&2; exit 2 ;;
esac
wanted="$(cat "$src"/requirements*.txt "$src"/pyproject.toml | sha256sum | cut -c1-16) mxnet=$mxnet"
if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$wanted" ]; then
  echo "install.sh: $venv is up to date"
  exit 0
fi

# Old venvs of earlier versions of this component are not needed any more.
for old in "$(dirname "$venv")"/venv-*; do
  [ -d "$old" ] && [ "$old" != "$venv" ] && rm -rf "$old"
done
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip
# shellcheck disable=SC2086 # several -r options
"$venv/bin/python" -m pip install --quiet --no-cache-dir $requirements
# gluoncv pulls the GUI build of OpenCV, which needs libGL (absent on most devices): keep only the headless one.
if "$venv/bin/python" -m pip show -q opencv-python 2>/dev/null; then
  "$venv/bin/python" -m pip uninstall --quiet -y opencv-python opencv-python-headless
  "$venv/bin/python" -m pip install --quiet --no-cache-dir --no-deps "$(grep '^opencv-python-headless==' "$src/requirements.txt")"
fi
"$venv/bin/python" -m pip install --quiet --no-cache-dir --no-deps --no-build-isolation "$src"
echo "$wanted" > "$venv/.installed"
echo "install.sh: built $venv"
