"""A tiny real mmengine model and dataset to drive a Runner in tests."""
import uuid

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset


class ToyModel(BaseModel):
    """y = w.x + b with two losses: ``loss_fit`` depends on the data,
    ``loss_reg`` only on the weights."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs).squeeze(-1)
        if mode == 'loss':
            return dict(
                loss_fit=((out - data_samples)**2).mean(),
                loss_reg=1e-3 * (self.linear.weight**2).sum())
        if mode == 'predict':
            return [dict(pred=o, gt=t) for o, t in zip(out, data_samples)]
        return out


class ToyDataset(Dataset):
    """``num`` samples; ``nan_at`` puts a NaN in one input."""

    metainfo = dict(classes=('toy', ))

    def __init__(self, num=4, nan_at=None):
        self.x = torch.linspace(-1, 1, num * 2).reshape(num, 2)
        self.y = self.x.sum(1)
        if nan_at is not None:
            self.x[nan_at, 0] = float('nan')

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


class CountIters(Hook):
    """Counts the training iterations this runner really ran."""

    def __init__(self):
        self.count = 0

    def after_train_iter(self, runner, **kwargs):
        self.count += 1


class ScriptedMetric(BaseMetric):
    """Returns the next of ``scores`` as ``oIoU`` at each evaluation."""

    def __init__(self, scores):
        super().__init__(prefix='toy')
        self.scores = iter(scores)

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(oIoU=next(self.scores))


def toy_dataloader(dataset):
    return dict(
        dataset=dataset,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=1,
        num_workers=0,
        collate_fn=dict(type='default_collate'))


@pytest.fixture
def toy_dataset():
    """The ToyDataset class, for tests that build their own data."""
    return ToyDataset


@pytest.fixture
def count_iters():
    """A hook counting the training iterations a runner really ran."""
    return CountIters()


@pytest.fixture
def make_runner(tmp_path):
    """Build a Runner on the toy model; keyword arguments override."""

    def make(dataset=None, max_epochs=2, val_scores=None, **kwargs):
        cfg = dict(
            model=ToyModel(),
            work_dir=str(tmp_path / 'work'),
            train_dataloader=toy_dataloader(dataset or ToyDataset()),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=1),
                checkpoint=dict(type='AtomicCheckpointHook', interval=1)),
            default_scope='mmris',
            experiment_name=f'toy_{uuid.uuid4().hex}',
            log_level='WARNING')
        if val_scores is not None:  # validate each epoch with these scores
            cfg.update(
                val_dataloader=toy_dataloader(ToyDataset(2)),
                val_evaluator=[ScriptedMetric(val_scores)],
                val_cfg=dict(type='ValLoop'))
        cfg.update(kwargs)
        return Runner(**cfg)

    return make
