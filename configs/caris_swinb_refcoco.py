# CARIS (ACM MM'23, Swin-B + BERT-base) on RefCOCO without MaskRIS: the
# baseline of maskris_swinb_refcoco.py (same recipe, one clean path per
# step, no masked views drawn by the pipeline).
_base_ = [
    './_base_/models/caris_swinb.py', './_base_/datasets/refcoco.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]

train_pipeline = [
    t for t in _base_.train_pipeline
    if t['type'] not in ('RandomPatchMask', 'RandomTextMask')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
