# MaskRIS training CARIS (Swin-B + BERT-base) on RefCOCO (UNC splits):
# 448x448, batch 8 per GPU x 2 GPUs, 50 epochs, AdamW 1e-4 (Swin and BERT
# 0.1x), val at epochs 10, 20, 30 and the last 16, best val oIoU kept.
#   bash tools/dist_train.sh configs/maskris_swinb_refcoco.py 2 --amp
# (--amp: the paper's fp16 autocast).
_base_ = [
    './_base_/models/maskris_caris_swinb.py', './_base_/datasets/refcoco.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]
