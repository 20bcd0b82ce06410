#!/usr/bin/env bash
# Builds the sandbox image without a registry: debootstrap a Debian root filesystem with
# the toolchains, then `docker import` it. Usage: build.sh IMAGE:TAG
# The mirror is the one this machine's own apt sources use; nothing is hard-coded.
set -euo pipefail
image=${1:?usage: build.sh IMAGE:TAG}
packages=python3,g++,gcc,libc6-dev,openjdk-17-jdk-headless,nodejs,bash,coreutils
log() { printf '[sandbox-image] %s\n' "$*" >&2; }

mirror=$( (grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | awk '{print $2}';
           grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | awk '{print $2}') | grep -i debian | head -1 || true)
[ -n "$mirror" ] || { log "no Debian mirror found in the apt sources"; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
rootfs=$(mktemp -d /var/tmp/verirl-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $suite from $mirror (minbase + $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
log "importing as $image"
tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
log "done: $image"
