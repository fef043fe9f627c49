# MaskRIS around the CARIS of caris_tiny_refshapes_test.py (same data and
# recipe), for the tests of the tools.
_base_ = './caris_tiny_refshapes_test.py'

model = dict(
    _delete_=True,
    type='MaskRIS',
    segmentor=_base_.model,
    mode='concat',
    clean_weight=0.5,
    distill_weight=0.5,
    loss_distill=dict(
        type='RISCrossEntropyLoss', class_weight=_base_.class_weight))
