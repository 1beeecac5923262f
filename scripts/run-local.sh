#!/usr/bin/env bash
# The main job on this machine: camera emulator (for a video file) or your RTSP camera -> grabber ->
# counter -> local Greengrass IPC server -> mosquitto, printing live counts. Ctrl-C stops everything.
#
#   scripts/run-local.sh [VIDEO_FILE|RTSP_URL] [count-people options...]
#
# Without a source it uses the pedestrian video in ../shared when present, else a test pattern.
# The detector defaults to GluonCV ssd_512_resnet50_v1_voc (weights downloaded on first use);
# for offline use pass a local model, e.g. --config examples/yolo-fastest-body.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
default_video=../shared/footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4
if [[ $# -eq 0 || $1 == -* ]]; then
  if [[ -f $default_video ]]; then set -- "$default_video" "$@"; else set -- test "$@"; fi
fi
exec .venv/bin/python -m local_stack "$@"
