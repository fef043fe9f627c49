#!/usr/bin/env bash
# The main job, from a fresh clone, on the CPU:
#   1. set up .venv (tools/setup_env.sh; skipped when ready),
#   2. generate the small RefShapes dataset into data/refshapes_cpu
#      (skipped when present with the same arguments),
#   3. train MaskRIS (configs/maskris_tiny_refshapes_cpu.py),
#   4. evaluate val / testA / testB (table),
#   5. score the text-blind baselines on val (largest object, union of all
#      objects, the model given an empty sentence),
#   6. save demo pictures of a few val images (mask overlay + sentence),
# and print where everything is. Steps 2-6 take about 15 minutes on 2 CPU
# cores (README, "Main job"). Environment knobs:
#   WORK_DIR (default work_dirs/maskris_tiny_refshapes_cpu), DATA_DIR
#   (default data/refshapes_cpu), CONFIG, and THREADS (torch threads,
#   default: the number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CONFIG=${CONFIG:-configs/maskris_tiny_refshapes_cpu.py}
WORK_DIR=${WORK_DIR:-work_dirs/maskris_tiny_refshapes_cpu}
DATA_DIR=${DATA_DIR:-data/refshapes_cpu}
# the dataset the config reads: easy level, images at the network size
GEN_ARGS=(--level easy --num-train 2000 --num-val 100 --num-test 50
          --width 96 --height 96 --seed 0)
export HF_HUB_OFFLINE=1
export OMP_NUM_THREADS=${THREADS:-$(nproc)}

log() { echo "[quickstart $(date +%H:%M:%S)] $*" >&2; }
step_start() { STEP_T0=$SECONDS; log "$1"; }
step_end() {
  log "$1 took $((SECONDS - STEP_T0)) s"
  TIMES+=("$1: $((SECONDS - STEP_T0)) s")
}
TIMES=()

log "set-up (tools/setup_env.sh)"
bash tools/setup_env.sh
PY="$ROOT/.venv/bin/python"
JOB_T0=$SECONDS

step_start "dataset"
STAMP="$DATA_DIR/.generate_args"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${GEN_ARGS[*]}" ]; then
  log "$DATA_DIR is there, generated with the same arguments: kept"
else
  rm -rf "$DATA_DIR"
  "$PY" tools/data/generate_refshapes.py "$DATA_DIR" "${GEN_ARGS[@]}"
  echo "${GEN_ARGS[*]}" > "$STAMP"
fi
step_end "dataset"

DATA_OPTS=()
for loader in train_dataloader val_dataloader test_dataloader; do
  DATA_OPTS+=("$loader.dataset.data_root=$DATA_DIR/")
done

step_start "training"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" \
  --cfg-options "${DATA_OPTS[@]}"
CKPT=$(cat "$WORK_DIR/last_checkpoint")  # the final iteration's
step_end "training"

step_start "evaluation (val, testA, testB)"
"$PY" tools/test_splits.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/eval" \
  --cfg-options "${DATA_OPTS[@]}"
step_end "evaluation (val, testA, testB)"

step_start "text-blind baselines (val)"
"$PY" tools/analysis/text_blind_baselines.py "$CONFIG" "$CKPT" --split val \
  --work-dir "$WORK_DIR/baselines" --out "$WORK_DIR/baselines_val.json" \
  --cfg-options "${DATA_OPTS[@]}"
step_end "text-blind baselines (val)"

step_start "demo pictures"
"$PY" - "$CONFIG" "$CKPT" "$DATA_DIR" "$WORK_DIR/demo" <<'EOF'
"""Two val refs (two different objects) of each of the first val images:
same picture, different sentence, different mask."""
import os
import os.path as osp
import pickle
import sys

import mmcv

from mmris.apis import inference_model, init_model, show_result

config, checkpoint, data_dir, out_dir = sys.argv[1:5]
os.makedirs(out_dir, exist_ok=True)
model = init_model(config, checkpoint, device='cpu')
with open(osp.join(data_dir, 'refs(unc).p'), 'rb') as f:
    refs = [r for r in pickle.load(f) if r['split'] == 'val']
images = sorted({r['image_id'] for r in refs})[:4]
for ref in (r for r in refs if r['image_id'] in images):
    name = f'refshapes_{ref["image_id"]:012d}.jpg'
    image = mmcv.imread(osp.join(data_dir, 'images', name))
    sentence = ref['sentences'][0]['raw']
    mask = inference_model(model, image, sentence)
    out = osp.join(out_dir, f'{name[:-4]}_ref{ref["ref_id"]}.png')
    # the 96x96 input, shown 4x larger
    show_result(mmcv.imrescale(image, 4, interpolation='nearest'),
                mmcv.imrescale(mask.astype('uint8'), 4,
                               interpolation='nearest'),
                sentence, out)
    print(f'{out}: "{sentence}"')
EOF
step_end "demo pictures"

log "done in $((SECONDS - JOB_T0)) s after set-up:"
for t in "${TIMES[@]}"; do echo "  $t"; done
echo "
checkpoint        $CKPT
training log      $WORK_DIR/<timestamp>/<timestamp>.log
split table       $WORK_DIR/eval/<timestamp>/results_*.md
baselines (val)   $WORK_DIR/baselines_val.json
demo pictures     $WORK_DIR/demo/"
