# MaskRIS + CARIS (Swin-B + BERT-base) on RefCOCOg, UMD splits (val, test),
# the RefCOCO recipe (see maskris_swinb_refcoco.py).
_base_ = [
    './_base_/models/maskris_caris_swinb.py',
    './_base_/datasets/refcocog_umd.py', './_base_/default_runtime.py',
    './_base_/schedules/schedule_50e.py'
]
