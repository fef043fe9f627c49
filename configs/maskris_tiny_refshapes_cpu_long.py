# maskris_tiny_refshapes_cpu.py trained 3x longer (3000 iterations): the
# MaskRIS side of the robustness comparison (README, "Robustness"); same
# seed and iterations as caris_tiny_refshapes_cpu_long.py.
_base_ = './maskris_tiny_refshapes_cpu.py'

max_iters = 3000
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=1))
