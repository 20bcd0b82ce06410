#!/usr/bin/env bash
# Makes sure a Docker Engine is installed and running (GUIDE §5); idempotent.
# Containers run with --network none, so the daemon needs neither iptables nor a bridge.
set -euo pipefail
log() { printf '[docker] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  log "Docker Engine is not reachable and this is not root: start it yourself (dockerd)"; exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Docker Engine (docker.io)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
log "starting dockerd"
nohup dockerd --iptables=false --ip6tables=false --bridge=none >/var/log/verirl-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then log "dockerd is up"; exit 0; fi
  sleep 0.5
done
log "dockerd did not come up; see /var/log/verirl-dockerd.log"; tail -20 /var/log/verirl-dockerd.log >&2
exit 1
