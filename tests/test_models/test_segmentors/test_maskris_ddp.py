"""MaskRIS under DDP: 2 gloo processes on the CPU, both execution modes."""
import copy
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmris.models import MaskRISDistributedDataParallel
from mmris.registry import MODELS
from ris_model_utils import make_batch, maskris_cfg

WORLD_SIZE = 2
# large lr: the update dominates the rounding of the parameters
LR = 1e3
RUNS = {
    'concat_mmddp': ('concat', MMDistributedDataParallel),
    'concat': ('concat', MaskRISDistributedDataParallel),
    'sequential': ('sequential', MaskRISDistributedDataParallel),
    # plain wrapper: sequential falls back to both paths in one graph
    'sequential_mmddp': ('sequential', MMDistributedDataParallel),
}


def _base_model():
    init_default_scope('mmris')
    torch.manual_seed(0)
    model = MODELS.build(maskris_cfg())
    model.init_weights()
    return model


def _rank_batch(rank):
    return make_batch(2, seed=20 + rank, offset=2 * rank)


def _worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=WORLD_SIZE)
    try:
        base = _base_model()
        results = {}
        for name, (mode, wrapper) in RUNS.items():
            model = copy.deepcopy(base)
            model.mode = mode
            ddp = wrapper(module=model)
            optim_wrapper = OptimWrapper(
                torch.optim.SGD(ddp.parameters(), lr=LR))
            log_vars = ddp.train_step(_rank_batch(rank), optim_wrapper)
            results[name] = dict(
                params={
                    n: p.detach().clone()
                    for n, p in model.named_parameters()
                },
                log_keys=list(log_vars))
        torch.save(results, os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _single_process_grads(base, rank):
    """Gradient of the DCL loss of one rank's batch, without DDP."""
    model = copy.deepcopy(base)
    data = model.data_preprocessor(_rank_batch(rank), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    model.parse_losses(losses)[0].backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_ddp_two_gloo_processes_match_mean_of_rank_gradients(tmp_path):
    ctx = mp.spawn(
        _worker,
        args=(_free_port(), str(tmp_path)),
        nprocs=WORLD_SIZE,
        join=False)
    # guard against a hung process group; not a timing assertion
    for _ in range(600):
        if ctx.join(timeout=1):
            break
    else:
        for process in ctx.processes:
            process.kill()
        pytest.fail('DDP workers did not finish')

    base = _base_model()
    grads = [_single_process_grads(base, rank) for rank in range(2)]
    initial = {n: p.detach() for n, p in base.named_parameters()}
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    # absorbs rounding noise of mathematically zero gradients (key biases)
    floor = 1e-6 * max((g0 + g1).abs().max().item() / 2
                       for g0, g1 in zip(grads[0].values(),
                                         grads[1].values()))
    for name in RUNS:
        assert ranks[0][name]['log_keys'] == [
            'loss', 'clean.loss_ce', 'clean.acc_seg', 'distill.loss_ce'
        ]
        for n, p0 in initial.items():
            expected = (grads[0][n] + grads[1][n]) / 2
            # identical on both ranks: gradients were all-reduced
            assert torch.equal(ranks[0][name]['params'][n],
                               ranks[1][name]['params'][n]), (name, n)
            step = (p0 - ranks[0][name]['params'][n]) / LR
            atol = 1e-5 * expected.abs().max().item() + floor
            torch.testing.assert_close(
                step, expected, rtol=1e-4, atol=atol, msg=f'{name}: {n}')
