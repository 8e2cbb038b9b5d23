#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io when missing, start dockerd in the
# background (unix socket + tcp://127.0.0.1:2375 for the remote-daemon tests), wait for it.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  # make sure the loopback TCP listener exists too (older runs may have started without it)
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "[swegym] installing docker.io (Debian)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
echo "[swegym] starting dockerd" >&2
nohup dockerd -H unix:///var/run/docker.sock -H tcp://127.0.0.1:2375 >/tmp/swegym-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "[swegym] dockerd did not come up; see /tmp/swegym-dockerd.log" >&2
tail -20 /tmp/swegym-dockerd.log >&2 || true
exit 1
