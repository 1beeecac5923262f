#!/usr/bin/env bash
# Device set-up for the Greengrass components (run once as root on each core device):
#  1. a tmpfs for the frames the grabber writes and the counter reads (RAM, not the SD card), mounted now
#     and at every boot by a systemd mount unit, or with --fstab by an /etc/fstab line instead;
#  2. the component user (ggc_user by default) in the docker group, so that the grabber's lifecycle
#     (docker load/run/stop) runs without root. Restart Greengrass afterwards so the group applies:
#       systemctl restart greengrass
# Usage: sudo scripts/setup-frames-tmpfs.sh [--dir /tmp/data] [--size 64m] [--user ggc_user] [--fstab] [--dry-run]
# The directory must match the grabber's frame_dir and the counter's source/grabber_status configuration.
set -euo pipefail

dir=/tmp/data
size=64m
user=ggc_user
use_fstab=false
dry_run=false
while (($#)); do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --fstab) use_fstab=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-frames-tmpfs: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $dir == /* ]] || { echo "setup-frames-tmpfs: --dir must be an absolute path" >&2; exit 2; }

run() {
  if $dry_run; then echo "+ $*"; else "$@"; fi
}
write() {  # write FILE CONTENT
  if $dry_run; then printf '+ write %s:\n%s\n' "$1" "$2"; else printf '%s\n' "$2" > "$1"; fi
}

if ! $dry_run && [[ $(id -u) -ne 0 ]]; then
  echo "setup-frames-tmpfs: run as root (sudo), or with --dry-run to see the steps" >&2
  exit 1
fi
if ! id "$user" >/dev/null 2>&1; then
  echo "setup-frames-tmpfs: user $user does not exist; install Greengrass first or pass --user" >&2
  $dry_run || exit 1
fi
uid=$(id -u "$user" 2>/dev/null || echo UID)
gid=$(id -g "$user" 2>/dev/null || echo GID)
# Only the component user reads and writes frames: the container runs as that user (docker run --user).
options="rw,nosuid,nodev,noexec,size=$size,mode=0750,uid=$uid,gid=$gid"

run mkdir -p "$dir"
if $use_fstab; then
  line="tmpfs $dir tmpfs $options 0 0"
  if grep -qsE "^[^#]*[[:space:]]$dir[[:space:]]" /etc/fstab; then
    echo "setup-frames-tmpfs: /etc/fstab already mounts $dir; left as it is"
  elif $dry_run; then
    echo "+ append to /etc/fstab: $line"
  else
    echo "$line" >> /etc/fstab
  fi
  mountpoint -q "$dir" || run mount "$dir"
else
  unit="$(systemd-escape --path "$dir" 2>/dev/null || echo "${dir#/}" | tr / -).mount"
  write "/etc/systemd/system/$unit" "[Unit]
Description=Frames of the people counter (tmpfs)
Before=greengrass.service

[Mount]
What=tmpfs
Where=$dir
Type=tmpfs
Options=$options

[Install]
WantedBy=local-fs.target"
  run systemctl daemon-reload
  run systemctl enable --now "$unit"
fi

if getent group docker >/dev/null || $dry_run; then
  run usermod -aG docker "$user"
else
  echo "setup-frames-tmpfs: no docker group; install Docker, then run: usermod -aG docker $user" >&2
fi
echo "setup-frames-tmpfs: done; restart Greengrass (systemctl restart greengrass) so $user gets the docker group"
