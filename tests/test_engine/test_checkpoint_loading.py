import pickle

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, load_from_http

import mmris  # noqa: F401  registers the loader on import
from mmris.engine import load_from_local_trusted


def test_local_paths_use_the_trusted_loader_remote_ones_do_not():
    assert CheckpointLoader._get_checkpoint_loader(
        '/x/epoch_1.pth') is load_from_local_trusted
    assert CheckpointLoader._get_checkpoint_loader(
        'work_dirs/epoch_1.pth') is load_from_local_trusted
    assert CheckpointLoader._get_checkpoint_loader(
        'https://example.org/epoch_1.pth') is load_from_http


def test_missing_local_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_from_local_trusted(str(tmp_path / 'nope.pth'))


def test_runner_checkpoint_resumes_and_loads(make_runner, count_iters):
    runner = make_runner(max_epochs=2)
    runner.train()
    ckpt = f'{runner.work_dir}/epoch_2.pth'
    # the premise: torch's default (weights_only) cannot read it
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)
    saved = torch.load(ckpt, weights_only=False)

    resumed = make_runner(
        max_epochs=3, resume=True, custom_hooks=[count_iters])
    resumed.train()
    assert count_iters.count == 4  # only epoch 3 ran: 4 samples, batch 1
    assert resumed.epoch == 3

    loaded = make_runner(max_epochs=1, load_from=ckpt)
    loaded.load_or_resume()
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, saved['state_dict'][key]), key
