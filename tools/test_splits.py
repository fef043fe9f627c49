"""Evaluate one checkpoint on every evaluation split of a dataset family and
print the paper-style table (markdown).

Examples::

    python tools/test_splits.py configs/maskris_swinb_refcoco.py best.pth
    # -> val, testA, testB (RefCOCO / RefCOCO+), val, test (RefCOCOg umd)
    python tools/test_splits.py CONFIG CKPT --splits val testB
    torchrun --nproc_per_node 2 tools/test_splits.py CONFIG CKPT \\
        --launcher pytorch

The splits are those of the test dataset's refs file (``split_file``)
other than ``train``, unless ``--splits`` names them. The model is built
and the checkpoint loaded (strictly, as in tools/test.py) once; each split
is then evaluated with the config's test dataloader and evaluator. Writes
``results_<family>.json`` (config, checkpoint, data files, split -> metrics)
and ``results_<family>.md`` to ``<work_dir>/<timestamp>/``, where the family
is named by the refs file, e.g. ``refcocog_umd`` for
``refcocog/refs(umd).p``.
"""
import argparse
import copy
import os
import os.path as osp
import re

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.fileio import join_path
from mmengine.logging import print_log
from mmengine.runner import Runner, TestLoop

from mmris.registry import RUNNERS
from mmris.utils import (dump_results, eval_splits, load_checkpoint_strict,
                         load_config, paper_table, register_all_modules,
                         setup_cpu_distributed, split_table)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint on every split of a dataset')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--splits',
        nargs='+',
        help='splits to evaluate (default: every split of the refs file '
        'but train)')
    parser.add_argument(
        '--name',
        help='row name in the table (default: the config file name)')
    parser.add_argument(
        '--work-dir',
        help='the directory of the logs and results (default: '
        './work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def refs_file(dataset: dict) -> str:
    """The (first) refs pickle of a ``RefCocoDataset`` config."""
    split_file = dataset.get('split_file')
    if split_file is None:
        raise KeyError('test_dataloader.dataset has no split_file; this '
                       'tool reads REFER datasets (RefCocoDataset), got '
                       f'{dataset.get("type")!r}. Pass --splits.')
    if not isinstance(split_file, str):
        split_file = split_file[0]
    data_root = dataset.get('data_root') or ''
    if data_root and not osp.isabs(split_file):
        split_file = join_path(data_root, split_file)
    return split_file


def family_name(split_file: str) -> str:
    """``<folder>_<split by>``, e.g. 'refcocog_umd' for
    ``.../refcocog/refs(umd).p``."""
    folder = osp.basename(osp.dirname(osp.abspath(split_file)))
    by = re.fullmatch(r'refs\((\w+)\)\.p', osp.basename(split_file))
    return f'{folder}_{by.group(1)}' if by else folder


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)

    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    cfg.load_from = None  # loaded below, strictly
    cfg.resume = False
    setup_cpu_distributed(cfg)

    dataset = cfg.test_dataloader.dataset
    split_file = refs_file(dataset)
    splits = args.splits or eval_splits(split_file)
    family = family_name(split_file)
    name = args.name or osp.splitext(osp.basename(args.config))[0]

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    load_checkpoint_strict(
        runner.model, args.checkpoint, config_name=args.config)
    print_log(
        f'Loaded {args.checkpoint}; evaluating {family} splits {splits}.',
        logger='current')

    results = {}
    runner.call_hook('before_run')
    for split in splits:
        loader = copy.deepcopy(cfg.test_dataloader)
        loader.dataset.split = split
        print_log(f'Building the {split!r} split...', logger='current')
        loop = TestLoop(runner, loader, cfg.test_evaluator)
        # hooks read runner.test_loop (e.g. its dataloader length)
        runner._test_loop = loop
        results[split] = loop.run()
    runner.call_hook('after_run')

    if is_main_process():
        tables = (f'{paper_table(name, results)}\n\n'
                  f'{split_table(results)}\n')
        out = osp.join(runner.log_dir, f'results_{family}')
        dump_results(
            f'{out}.json', results, args.config, args.checkpoint,
            dict(
                data_root=dataset.get('data_root'),
                ann_file=dataset.get('ann_file'),
                split_file=dataset.get('split_file')))
        with open(f'{out}.md', 'w') as f:
            f.write(f'{name} on {family} ({args.checkpoint})\n\n{tables}')
        print_log(
            f'{name} on {family}:\n\n{tables}\nwritten to {out}.json and '
            f'{out}.md',
            logger='current')


if __name__ == '__main__':
    main()
