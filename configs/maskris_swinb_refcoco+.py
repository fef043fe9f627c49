# MaskRIS + CARIS (Swin-B + BERT-base) on RefCOCO+ (UNC splits: val, testA,
# testB), the RefCOCO recipe (see maskris_swinb_refcoco.py).
_base_ = [
    './_base_/models/maskris_caris_swinb.py', './_base_/datasets/refcoco+.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]
