import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

CFG = osp.join(
    osp.dirname(__file__), '../../configs/_base_/schedules/schedule_50e.py')


class RecordValEpochs(Hook):

    def __init__(self):
        self.epochs = []

    def after_val_epoch(self, runner, metrics=None):
        self.epochs.append(runner.epoch)


def test_lr_warm_up_then_poly_decay_per_iteration(make_runner, toy_dataset):
    cfg = Config.fromfile(CFG)
    epoch_length = 100  # iterations per epoch of the toy loader
    runner = make_runner(
        dataset=toy_dataset(epoch_length),
        optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler,
        train_cfg=cfg.train_cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    schedulers = runner.build_param_scheduler(runner.param_schedulers)
    assert all(not s.by_epoch for s in schedulers)  # both step per iter

    total = cfg.max_epochs * epoch_length
    lrs = []
    for _ in range(total):
        lrs.append(runner.optim_wrapper.get_lr()['lr'][0])
        runner.optim_wrapper.step()  # no grads: a no-op, keeps torch quiet
        for scheduler in schedulers:  # what ParamSchedulerHook does
            scheduler.step()

    def expected(t):
        # the recipe, in mmengine's convention that a scheduler reaches its
        # final value at its last step (end - 1): full lr at iteration 1499
        # (the 1500th), 0 at the last iteration
        warm = 1e-3 + (1 - 1e-3) * min(t, 1499) / 1499
        return 1e-4 * warm * (1 - t / (total - 1))**0.9

    for t in (0, 1, 750, 1499, 1500, total // 2, total - 2):
        assert lrs[t] == pytest.approx(expected(t), rel=1e-6), t
    assert lrs[0] == pytest.approx(1e-7)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-15)
    assert max(lrs) == lrs[1499]


def test_validation_epochs(make_runner, toy_dataset):
    cfg = Config.fromfile(CFG)
    record = RecordValEpochs()
    runner = make_runner(
        dataset=toy_dataset(1),  # one iteration per epoch
        val_scores=[0.0] * 60,
        optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler,
        train_cfg=cfg.train_cfg,
        default_hooks=dict(checkpoint=None),
        custom_hooks=[record])
    runner.train()
    assert runner.epoch == 50
    assert record.epochs == [10, 20, 30] + list(range(35, 51))
