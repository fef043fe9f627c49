import glob

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmris.engine import CheckFiniteLossHook


def iter_hooks():
    return dict(
        checkpoint=dict(
            type='AtomicCheckpointHook', by_epoch=False, interval=1))


def test_finite_training_runs_through(make_runner):
    runner = make_runner(custom_hooks=[dict(type='CheckFiniteLossHook')])
    runner.train()
    assert runner.iter == 8


def test_stops_at_the_first_non_finite_iteration(make_runner, toy_dataset):
    runner = make_runner(
        dataset=toy_dataset(6, nan_at=2),
        default_hooks=iter_hooks(),
        custom_hooks=[dict(type='CheckFiniteLossHook')])
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 3 (epoch 1, batch 3)' in msg
    assert 'loss_fit=nan' in msg and 'loss=nan' in msg
    assert 'loss_reg' not in msg  # it was still finite
    # nothing of iteration 3 reached the disk
    assert sorted(glob.glob(f'{runner.work_dir}/iter_*.pth')) == [
        f'{runner.work_dir}/iter_1.pth', f'{runner.work_dir}/iter_2.pth'
    ]
    ckpt = torch.load(f'{runner.work_dir}/iter_2.pth', weights_only=False)
    assert all(v.isfinite().all() for v in ckpt['state_dict'].values())


def test_interval_catches_it_at_the_next_check(make_runner, toy_dataset):
    # NaN weights after iteration 3 keep the loss NaN: seen at iteration 4
    runner = make_runner(
        dataset=toy_dataset(6, nan_at=2),
        custom_hooks=[dict(type='CheckFiniteLossHook', interval=2)])
    with pytest.raises(FloatingPointError, match='iteration 4 '):
        runner.train()


def test_selected_loss_keys(make_runner, toy_dataset):
    # only loss_reg is watched: it turns NaN one iteration after the data
    runner = make_runner(
        dataset=toy_dataset(6, nan_at=2),
        custom_hooks=[
            dict(type='CheckFiniteLossHook', loss_keys=['loss_reg'])
        ])
    with pytest.raises(FloatingPointError, match='iteration 4 .*loss_reg'):
        runner.train()
    runner = make_runner(
        custom_hooks=[dict(type='CheckFiniteLossHook', loss_keys=['x'])])
    with pytest.raises(KeyError, match=r"\['x'\].*loss_fit"):
        runner.train()


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        CheckFiniteLossHook(interval=0)
    with pytest.raises(ValueError, match='amp_patience'):
        CheckFiniteLossHook(amp_patience=-1)


class CPUScaledOptimWrapper(OptimWrapper):
    """What AmpOptimWrapper does with its loss scaler, on CPU (mmengine's
    AmpOptimWrapper refuses to build without a GPU): torch's GradScaler,
    which skips an update whose gradients are not finite."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_scaler = torch.amp.GradScaler('cpu')

    def backward(self, loss, **kwargs):
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs):
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


@pytest.mark.parametrize('wrapper', [
    CPUScaledOptimWrapper,
    pytest.param(
        'AmpOptimWrapper',
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason='needs CUDA'))
])
def test_loss_scaler_skips_tolerated_then_raises(make_runner, toy_dataset,
                                                 wrapper):
    # one NaN sample: the scaler skips that update, the weights stay finite
    optim_wrapper = dict(type=wrapper, optimizer=dict(type='SGD', lr=0.1))
    hook = dict(type='CheckFiniteLossHook', amp_patience=1)
    runner = make_runner(
        dataset=toy_dataset(6, nan_at=2),
        optim_wrapper=optim_wrapper,
        custom_hooks=[hook])
    runner.train()
    assert runner.iter == 12
    assert all(p.isfinite().all() for p in runner.model.parameters())
    # two NaN samples in a row exceed amp_patience=1
    dataset = toy_dataset(6, nan_at=2)
    dataset.x[3, 0] = float('nan')
    runner = make_runner(
        dataset=dataset, optim_wrapper=optim_wrapper, custom_hooks=[hook])
    with pytest.raises(FloatingPointError, match='iteration 4 .*2 checks'):
        runner.train()
