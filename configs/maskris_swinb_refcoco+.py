# MaskRIS + CARIS (Swin-B + BERT-base) on RefCOCO+ (UNC splits), the
# RefCOCO recipe (see maskris_swinb_refcoco.py). Test splits: val, testA,
# testB (tools/test_splits.py prints all three).
_base_ = [
    './_base_/models/caris_swinb.py', './_base_/datasets/refcoco+.py',
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
