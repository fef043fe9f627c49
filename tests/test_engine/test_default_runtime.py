import os.path as osp
import uuid

from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.runner import Runner

from mmris.engine import (AtomicCheckpointHook, AtomicLocalBackend,
                          CheckFiniteLossHook, RISVisualizationHook)
from mmris.visualization import RISLocalVisualizer

CFG = osp.join(
    osp.dirname(__file__), '../../configs/_base_/default_runtime.py')


def test_default_runtime_builds_our_hooks_and_visualizer(
        tmp_path, make_runner):
    cfg = Config.fromfile(CFG)
    assert cfg.default_scope == 'mmris'
    assert cfg.env_cfg.cudnn_benchmark is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    cfg.visualizer.name = f'vis_{uuid.uuid4().hex}'  # one per test
    runner = make_runner(
        default_scope=cfg.default_scope,
        env_cfg=cfg.env_cfg,
        visualizer=cfg.visualizer,
        log_processor=cfg.log_processor,
        default_hooks=cfg.default_hooks,
        custom_hooks=cfg.custom_hooks,
        load_from=cfg.load_from,
        resume=cfg.resume)
    assert isinstance(runner, Runner)
    assert isinstance(runner.visualizer, RISLocalVisualizer)
    hooks = {type(h): h for h in runner.hooks}
    ckpt = hooks[AtomicCheckpointHook]
    assert ckpt.save_best == ['oIoU'] and ckpt.rules == ['greater']
    assert isinstance(
        get_file_backend(str(tmp_path), backend_args=ckpt.backend_args),
        AtomicLocalBackend)
    assert hooks[RISVisualizationHook].draw
    assert CheckFiniteLossHook in hooks
    runner.train()  # the toy model trains under this runtime
    assert osp.isfile(osp.join(runner.work_dir, 'epoch_2.pth'))
