#!/usr/bin/env bash
# Makes sure a Docker Engine is installed and running; idempotent.
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
# A daemon that was killed leaves its pid file behind, and a new one refuses to start:
# wait for a dying one to be gone, then drop the stale file.
if [ -f /var/run/docker.pid ]; then
  old=$(cat /var/run/docker.pid)
  for _ in $(seq 1 50); do
    if ! kill -0 "$old" 2>/dev/null || grep -q '^State:.*Z' "/proc/$old/status" 2>/dev/null; then break; fi
    sleep 0.2
  done
  if ! docker info >/dev/null 2>&1; then rm -f /var/run/docker.pid; fi
fi
# The containerd a killed dockerd started can outlive it, and its pid file outlives both:
# a new dockerd that finds the file and a live process under that (reused) pid waits
# for a containerd that never answers.
if pgrep -f 'containerd --config /var/run/docker/containerd/containerd.toml' >/dev/null; then
  pkill -9 -f 'containerd --config /var/run/docker/containerd/containerd.toml' || true
  sleep 0.5
fi
rm -f /var/run/docker/containerd/containerd.pid
log "starting dockerd"
# Detached from the caller (its session, descriptors and environment), so a daemon started
# from a test run or a CI step behaves like one started by hand.
setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  dockerd --iptables=false --ip6tables=false --bridge=none </dev/null >/var/log/verirl-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then log "dockerd is up"; exit 0; fi
  sleep 0.5
done
log "dockerd did not come up; see /var/log/verirl-dockerd.log"; tail -20 /var/log/verirl-dockerd.log >&2
exit 1
