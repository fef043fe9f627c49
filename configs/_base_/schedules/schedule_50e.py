# MaskRIS / CARIS recipe: AdamW 1e-4, wd 1e-2, 50 epochs, per-iteration
# linear warm-up then poly decay, grad-norm clip 1.0.
# `tools/train.py --amp` switches the wrapper to AmpOptimWrapper.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2),
    clip_grad=dict(max_norm=1.0),
    constructor='RISOptimWrapperConstructor',
    paramwise_cfg=dict(
        # Swin and BERT at 0.1x lr; matched as module paths at any depth,
        # so MaskRIS's `segmentor.backbone` matches too
        lr_mult=dict(backbone=0.1, text_encoder=0.1),
        # no decay for norms, embeddings (BERT's and the learnable prompt
        # tokens, nn.Embedding) and Swin's relative position bias tables;
        # applied together with lr_mult
        norm_decay_mult=0.0,
        embed_decay_mult=0.0,
        no_decay_keys=['relative_position_bias_table']))

max_epochs = 50
warmup_iters = 1500
# lr(t) = base * warm-up(t) * (1 - t / (T - 1)) ** 0.9 at iteration t of T:
# the two schedulers overlap from iteration 0 and multiply (mmengine chains
# them); both step every iteration. As mmengine schedulers reach their final
# value at their last step, lr is full at iteration 1499 and 0 at the last.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]

# Validation after epochs 10, 20, 30 and each of the last 16 (35..50).
# The reference's "epoch 0" (before training) has no mmengine equivalent:
# run tools/test.py on the initial weights if needed. mmengine switches to
# a dynamic interval once `epoch + 1 >= milestone`, hence 36 for epoch 35.
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=10,
    dynamic_intervals=[(36, 1)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# the recipe's total batch: 8 per GPU x 2 GPUs; enable=True scales the lr
# linearly to other totals
auto_scale_lr = dict(enable=False, base_batch_size=16)
