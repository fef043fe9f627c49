#!/usr/bin/env bash
# Creates .venv/ in the repository root with the pinned OpenMMLab stack and
# mmris installed in editable mode. Idempotent: a ready .venv returns at once.
#
# GPU users pick their CUDA build of torch before running this script, e.g.
#   TORCH_SPEC='torch==2.4.1' TORCH_INDEX_URL=https://download.pytorch.org/whl/cu121 \
#     bash tools/setup_env.sh
# mmcv is then compiled with its CUDA ops when nvcc is found (FORCE_CUDA=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMRIS_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}

cd "$ROOT"
STAMP="$VENV/.mmris-setup"
WANT=$(cat tools/setup_env.sh setup.py requirements/*.txt | sha1sum | cut -d' ' -f1)-$TORCH_SPEC
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi

log() { echo "[setup_env] $*" >&2; }
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

log "installing $TORCH_SPEC and mmengine"
if [ -n "$TORCH_INDEX_URL" ]; then
  "${PIP[@]}" install "$TORCH_SPEC" --index-url "$TORCH_INDEX_URL"
else
  "${PIP[@]}" install "$TORCH_SPEC"
fi
"${PIP[@]}" install $(grep -E '^(mmengine|numpy|opencv)' requirements/runtime.txt)
# torch declares setuptools>=77 but mmcv 2.1.0's setup.py needs the older API;
# the pin only matters while mmcv compiles, torch runs fine beside it.
"${PIP[@]}" install -r requirements/build.txt

if ! "$VENV/bin/python" -c 'import mmcv, mmcv.ops' 2>/dev/null; then
  log "compiling mmcv 2.1.0 with ops (about 10 minutes on 2 cores; cached by pip afterwards)"
  if command -v nvcc >/dev/null 2>&1; then export FORCE_CUDA=1; fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" install --no-build-isolation mmcv==2.1.0
fi

log "installing mmsegmentation, mmdet, transformers and mmris"
"${PIP[@]}" install -r requirements/runtime.txt -r requirements/tests.txt
"${PIP[@]}" install --no-build-isolation --no-deps -e .
"$VENV/bin/python" -c 'import mmcv.ops, mmseg, mmdet, transformers, mmris' 
echo "$WANT" > "$STAMP"
log "ready: $VENV"
