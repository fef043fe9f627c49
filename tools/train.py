"""Train a referring segmentation model (mmseg 1.x's tools/train.py).

Examples::

    python tools/train.py configs/maskris_swinb_refcoco.py
    python tools/train.py CONFIG --amp --work-dir work_dirs/exp1
    python tools/train.py CONFIG --resume          # from work_dir's last
    bash tools/dist_train.sh CONFIG 2               # torchrun, 2 processes

Without CUDA, distributed runs use the gloo backend and CPU DDP
(``mmris.utils.setup_cpu_distributed``).
"""
import argparse
import logging
import os

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmris.registry import RUNNERS
from mmris.utils import (load_config, register_all_modules,
                         setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Train a referring image segmentation model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir '
        '(work_dir/last_checkpoint) automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (AmpOptimWrapper, '
        'dynamic loss scale)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg: Config) -> None:
    """Switch ``optim_wrapper`` to ``AmpOptimWrapper`` (dynamic scale)."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return
    if optim_wrapper != 'OptimWrapper':
        raise ValueError('--amp is only supported when the optimizer wrapper '
                         f'type is OptimWrapper, but got {optim_wrapper}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)

    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)

    if args.amp:
        enable_amp(cfg)
    cfg.resume = args.resume
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
