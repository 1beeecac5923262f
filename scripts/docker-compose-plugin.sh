#!/bin/sh
# Docker CLI plugin that makes `docker compose ...` run Debian's docker-compose (v1.29, Compose
# Specification aware) where the distribution ships no compose v2 plugin. scripts/setup.sh
# installs it as /usr/local/lib/docker/cli-plugins/docker-compose only when `docker compose` is missing.
if [ "$1" = "docker-cli-plugin-metadata" ]; then
  printf '{"SchemaVersion":"0.1.0","Vendor":"edge-people-counter","Version":"%s","ShortDescription":"Docker Compose (docker-compose v1 shim)"}\n' \
    "$(docker-compose version --short 2>/dev/null || echo unknown)"
  exit 0
fi
[ "$1" = "compose" ] && shift
exec docker-compose "$@"
