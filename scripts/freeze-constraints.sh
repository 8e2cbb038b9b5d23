#!/usr/bin/env bash
# Regenerate constraints.txt from the set-up venv (run it after the suite passed in that venv):
#   bash scripts/freeze-constraints.sh            # writes constraints.txt
#   bash scripts/freeze-constraints.sh --check    # exit 1 if constraints.txt is stale
# Then commit constraints.txt; scripts/setup.sh installs exactly those versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${SWEGYM_VENV:-.venv}/bin/python"
"$PY" -m pip check
exec "$PY" scripts/freeze_constraints.py "$@"
