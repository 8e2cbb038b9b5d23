#!/usr/bin/env bash
# Build the offline base image swegym/base:<suite> with debootstrap + docker import (~1-3 min).
# Usage: scripts/build-base-image.sh [bookworm|bullseye|trixie]
# The image builder does the same by itself (swegym_docker.baseimage) when a spec's Python needs a
# suite whose image is missing; keep the --include list equal to baseimage.DEBOOTSTRAP_INCLUDE.
set -euo pipefail
SUITE="${1:-bookworm}"
NAME="swegym/base:${SUITE}"
if docker image inspect "$NAME" >/dev/null 2>&1; then exit 0; fi
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
ROOTFS="$(mktemp -d /tmp/swegym-rootfs-XXXX)"
echo "[swegym] debootstrap $SUITE -> $NAME" >&2
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,git,patch,procps,ca-certificates "$SUITE" "$ROOTFS" >/tmp/swegym-debootstrap.log 2>&1 \
  || { tail -20 /tmp/swegym-debootstrap.log >&2; exit 1; }
tar -C "$ROOTFS" -c . | docker import - "$NAME" >/dev/null
rm -rf "$ROOTFS"
echo "[swegym] built $NAME" >&2
