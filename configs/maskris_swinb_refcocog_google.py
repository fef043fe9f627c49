# MaskRIS + CARIS (Swin-B + BERT-base) on RefCOCOg, Google splits (val
# only: there is no public test split), the RefCOCO recipe
# (see maskris_swinb_refcoco.py).
_base_ = [
    './_base_/models/caris_swinb.py', './_base_/datasets/refcocog_google.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]

model = dict(
    _delete_=True,
    type='MaskRIS',
    segmentor=_base_.model,
    mode='concat',
    clean_weight=0.5,
    distill_weight=0.5,
    loss_distill=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]))

auto_scale_lr = dict(enable=False, base_batch_size=16)
