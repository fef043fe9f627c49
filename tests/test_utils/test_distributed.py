"""setup_cpu_distributed: gloo and CPU DDP where CUDA is missing."""
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmris.utils import setup_cpu_distributed

pytestmark = pytest.mark.skipif(
    torch.cuda.is_available(), reason='tests the machines without CUDA')


@pytest.fixture
def torchrun_env(monkeypatch):
    """The environment torchrun gives a single process."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    for key, value in dict(
            MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK='0',
            WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)


def test_non_distributed_runs_are_untouched():
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(
        backend='nccl'))))
    assert not setup_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_slurm_without_cuda_is_a_clear_error():
    cfg = Config(dict(launcher='slurm'))
    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        setup_cpu_distributed(cfg)


def test_pytorch_launcher_uses_gloo_and_cpu_ddp(torchrun_env):
    cfg = Config(
        dict(
            launcher='pytorch',
            find_unused_parameters=True,
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    try:
        assert setup_cpu_distributed(cfg)
        assert dist.is_initialized()
        assert dist.get_backend() == 'gloo'
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)


def test_a_configured_wrapper_keeps_its_type(torchrun_env):
    cfg = Config(
        dict(
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            model_wrapper_cfg=dict(type='MaskRISDistributedDataParallel')))
    dist.init_process_group('gloo')  # set up already: kept
    try:
        assert setup_cpu_distributed(cfg)
    finally:
        dist.destroy_process_group()
    assert cfg.model_wrapper_cfg == dict(
        type='MaskRISDistributedDataParallel', device_ids=None)
