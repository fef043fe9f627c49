# MaskRIS + CARIS (Swin-B + BERT-base) on RefCOCOg, Google splits (val only:
# there is no public test split), the RefCOCO recipe
# (see maskris_swinb_refcoco.py).
_base_ = [
    './_base_/models/maskris_caris_swinb.py',
    './_base_/datasets/refcocog_google.py', './_base_/default_runtime.py',
    './_base_/schedules/schedule_50e.py'
]
