#!/usr/bin/env bash
# One-time set-up of everything the project needs on a Debian/Ubuntu machine:
# system packages (when run as root, else a list to install) and a venv in .venv.
# Idempotent: a second run only re-installs Python packages when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # Python with venv, and what building PyGObject/pycairo from source needs.
  python3 python3-venv python3-dev build-essential pkg-config libgirepository1.0-dev libcairo2-dev
  libgomp1 ca-certificates openssl mosquitto  # libgomp1: MXNet's OpenMP runtime
  # GStreamer: gst-launch/gst-inspect (tools), the grabber's elements (base, good, libav), the emulator's
  # x264enc (ugly), intervideo (bad), timeoverlay (x: the pango plugin) and RTSP server bindings.
  gstreamer1.0-tools gstreamer1.0-x gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  gir1.2-gst-rtsp-server-1.0 python3-gst-1.0
  docker.io debootstrap
  prometheus influxdb chromium docker-compose
  # Greengrass nucleus lite, built from ../shared/greengrass-lite by the tests (its build.sh list).
  cmake libssl-dev libcurl4-openssl-dev uuid-dev libzip-dev libsqlite3-dev libyaml-dev libsystemd-dev
  libevent-dev liburiparser-dev
)
PIP_EXTRAS="${PIP_EXTRAS:-dev,mxnet,grabber,onnxruntime,deploy,greengrass}"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    # Wait for another apt run (a parallel set-up or test) instead of failing on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages; install them with:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian 12 packages no `docker compose` v2 plugin: a shim runs its docker-compose (v1) for it.
if [[ $(id -u) -eq 0 ]] && command -v docker >/dev/null && ! docker compose version >/dev/null 2>&1; then
  install -D -m 755 scripts/docker-compose-plugin.sh /usr/local/lib/docker/cli-plugins/docker-compose
fi

# The MXNet extra needs Python <= 3.11; prefer 3.11 where the machine has it.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)-${PIP_EXTRAS//,/_}"
if [[ ! -f $stamp ]]; then
  echo "setup: installing the project into .venv (extras: $PIP_EXTRAS)"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[${PIP_EXTRAS}]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
