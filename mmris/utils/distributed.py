"""Distributed runs on machines without CUDA (gloo, CPU DDP)."""
import datetime
import logging

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare ``cfg`` (and the process group) for a CPU-only machine.

    mmengine's launchers call ``torch.cuda.set_device`` and wrap the model
    with ``device_ids=[LOCAL_RANK]``, both of which fail without CUDA. When
    ``cfg.launcher`` is not ``'none'`` and CUDA is unavailable, this

    - switches ``env_cfg.dist_cfg.backend`` from 'nccl' to 'gloo' (logged;
      another backend that is set explicitly is kept),
    - initialises the process group from torchrun's environment
      (``--launcher pytorch``; slurm/mpi on CPU are not supported), after
      which the Runner skips its own initialisation,
    - sets ``model_wrapper_cfg.device_ids=None`` (a CPU DDP model).

    Nothing changes on machines with CUDA or for non-distributed runs.

    Args:
        cfg (Config): The full config, with ``launcher`` set.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA (mmengine sets a GPU per '
            'process); on a machine without CUDA run distributed jobs with '
            '--launcher pytorch (tools/dist_train.sh, tools/dist_test.sh).')
    env_cfg = cfg.setdefault('env_cfg', dict())
    dist_cfg = dict(env_cfg.get('dist_cfg') or dict())
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log(
            'CUDA is not available: using the gloo backend instead of nccl '
            '(env_cfg.dist_cfg.backend=gloo).',
            logger='current',
            level=logging.WARNING)
        dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    if not torch_dist.is_initialized():
        kwargs = {
            k: v
            for k, v in dist_cfg.items() if k not in ('backend',
                                                      'init_backend')
        }
        if kwargs.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(backend=dist_cfg['backend'], **kwargs)

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:  # what mmengine builds by default, on the CPU
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True
