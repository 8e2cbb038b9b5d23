#!/usr/bin/env bash
# Set up everything, then run the main job: the Moatless scaffold on the bundled demo tasks with a
# small local model (no network, no API key). Results land in runs/<timestamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "${SWEGYM_VENV:-.venv}/bin/swegym" run --scaffold moatless "$@"
