# Runtime shared by every mmris config.
default_scope = 'mmris'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# add dict(type='TensorboardVisBackend') when tensorboard is installed
visualizer = dict(
    type='RISLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # crash-safe saving (temp file + os.replace, last_checkpoint written
    # last); keeps the latest epoch for --resume and the best val oIoU
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=True,
        interval=1,
        max_keep_ckpts=1,
        save_best='oIoU',
        rule='greater',
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # sentence + image + ground truth + prediction, 1 val/test sample in 1000
    visualization=dict(type='RISVisualizationHook', draw=True, interval=1000),
)
# stop at the first non-finite loss (see CheckFiniteLossHook for AMP)
custom_hooks = [dict(type='CheckFiniteLossHook', interval=1)]
