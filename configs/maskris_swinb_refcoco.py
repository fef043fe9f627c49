# MaskRIS (arXiv 2411.19067) training CARIS (Swin-B + BERT-base) on RefCOCO:
# 448x448, batch 8 per GPU x 2 GPUs, 50 epochs, AdamW 1e-4 (Swin and BERT
# 0.1x), val at epochs 10, 20, 30 and the last 16, best val oIoU kept.
#   bash tools/dist_train.sh configs/maskris_swinb_refcoco.py 2 --amp
# (--amp: the paper's fp16 autocast). Test time is plain CARIS: zero cost.
_base_ = [
    './_base_/models/caris_swinb.py', './_base_/datasets/refcoco.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]

model = dict(
    _delete_=True,
    type='MaskRIS',
    segmentor=_base_.model,
    # both views in one 2B batch; 'sequential' halves the peak memory
    # (with model_wrapper_cfg=dict(type='MaskRISDistributedDataParallel'))
    mode='concat',
    clean_weight=0.5,
    distill_weight=0.5,
    mask_image=True,
    mask_text=True,
    loss_distill=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]))

# batch 8 per GPU x 2 GPUs; set enable=True to scale lr to other totals
auto_scale_lr = dict(enable=False, base_batch_size=16)
