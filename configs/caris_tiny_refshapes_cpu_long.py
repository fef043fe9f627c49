# caris_tiny_refshapes_cpu.py trained 3x longer (3000 iterations): one side
# of the robustness comparison (README, "Robustness"), trained until the
# task is clearly learned. The other side: maskris_tiny_refshapes_cpu_long.
_base_ = './caris_tiny_refshapes_cpu.py'

max_iters = 3000
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=1))
