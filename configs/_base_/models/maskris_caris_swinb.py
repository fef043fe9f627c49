# MaskRIS (arXiv 2411.19067, facts sheet section 1) training CARIS Swin-B +
# BERT-base: clean path vs GT, masked path (25% of 32-px patches kept, 15% of
# word pieces masked by the train pipeline) distilled from the clean logits.
# Test time is plain CARIS: zero extra cost.
_base_ = './caris_swinb.py'

model = dict(
    _delete_=True,
    type='MaskRIS',
    segmentor=_base_.model,
    # both views in one 2B batch; 'sequential' keeps the peak memory of one
    # view (under DDP with model_wrapper_cfg=dict(
    # type='MaskRISDistributedDataParallel'))
    mode='concat',
    clean_weight=0.5,
    distill_weight=0.5,
    mask_image=True,
    mask_text=True,
    loss_distill=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]))
