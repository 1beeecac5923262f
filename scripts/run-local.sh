#!/usr/bin/env bash
# The main job on this machine: one camera emulator per video file (or your RTSP cameras) -> one grabber ->
# one counter -> local Greengrass IPC server -> mosquitto, printing live counts. Ctrl-C stops everything.
#
#   scripts/run-local.sh [[ID=]VIDEO_FILE|RTSP_URL|test ...] [--config FILE] [count-people options...]
#
# Each source is one camera (ID defaults to the file name). With sources, the detector is the component's
# default, GluonCV ssd_512_resnet50_v1_voc (weights downloaded on first use), unless options say otherwise
# (e.g. --config docs/examples/yolo-fastest-body.yaml). Without arguments it runs the embedded default: the two
# pedestrian videos of ../shared (or $SHARED_DIR), TUD-Stadtmitte and TUD-Campus, counted side by side with
# its offline body model when present, else the emulator's test pattern with the default detector.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
shared=${SHARED_DIR:-../shared}
if [[ $# -eq 0 ]]; then
  footage=$shared/footage
  if [[ -f $footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4 && -f $footage/TUD-Campus/TUD-Campus.mp4 \
        && -f $shared/models/yolo-fastest/yolo-fastest-1.1_body.cfg ]]; then
    echo "run-local: no source given: $shared's TUD-Stadtmitte and TUD-Campus videos as two cameras, one body model"
    config=$(mktemp --suffix=.yaml)
    trap 'rm -f "$config"' EXIT
    sed "s#\.\./shared#$shared#" docs/examples/yolo-fastest-body.yaml > "$config"
    set -- "$footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4" "$footage/TUD-Campus/TUD-Campus.mp4" --config "$config"
  else
    echo "run-local: no source given: the emulator's test pattern with GluonCV (weights downloaded on first use)"
    set -- test
  fi
fi
.venv/bin/python -m local_stack "$@"
