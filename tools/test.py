"""Test (and evaluate) a referring segmentation checkpoint (mmseg 1.x's
tools/test.py).

Examples::

    python tools/test.py configs/maskris_swinb_refcoco.py best.pth
    python tools/test.py CONFIG CKPT --cfg-options \\
        test_dataloader.dataset.split=testB     # another split
    python tools/test.py CONFIG CKPT --out preds/ --show-dir vis/
    bash tools/dist_test.sh CONFIG CKPT 2      # torchrun, 2 processes

Prints the metric table of the test split (oIoU, mIoU, Prec@0.5..0.9,
number of sentences, evaluation resolution) and writes it, with the config,
checkpoint and data files, to ``<work_dir>/<timestamp>/results_<split>.json``.

The checkpoint must fit the model exactly: missing, unexpected or
differently shaped weights stop the test with the list of those keys
(mmengine itself only warns). Checkpoints of a MaskRIS config and of the
plain segmentor config load into each other.

``--out DIR`` writes each sentence's predicted mask, at the original image
size, as ``DIR/<image name>_<sent_id>.png`` (0 background, 255 object).
``--show-dir DIR`` draws samples (sentence, image, ground truth, prediction)
through the visualization hook into ``<work_dir>/<timestamp>/DIR``: one
sample in ``default_hooks.visualization.interval`` (1000 in the default
runtime; ``--cfg-options default_hooks.visualization.interval=1`` draws all).
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmris.registry import RUNNERS
from mmris.utils import (dump_results, load_checkpoint_strict, load_config,
                         register_all_modules, setup_cpu_distributed,
                         split_table)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a referring segmentation model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory of the logs and of the results JSON '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='directory where the predicted masks are saved as PNG '
        '(0 background, 255 object, original image size)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
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
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


class PredictionWriterHook(Hook):
    """Write every test prediction (``pred_sem_seg``) as a PNG mask.

    Args:
        out_dir (str): Output directory.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        for sample in outputs or []:
            name = osp.splitext(osp.basename(sample.img_path))[0]
            if 'sent_id' in sample:
                name += f'_{sample.sent_id}'
            mask = sample.pred_sem_seg.data[0].cpu().numpy()
            mmcv.imwrite((mask > 0).astype(np.uint8) * 255,
                         osp.join(self.out_dir, f'{name}.png'))


def trigger_visualization_hook(cfg: Config, args) -> Config:
    """Turn on drawing (and showing / the output folder) of the hook."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks (e.g. '
            "visualization=dict(type='RISVisualizationHook')) to use "
            '--show or --show-dir.')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['out_dir'] = args.show_dir
    return cfg


def split_name(dataloader_cfg) -> str:
    """The split of a test dataloader config ('+'-joined if several)."""
    split = dataloader_cfg['dataset'].get('split', 'test')
    return split if isinstance(split, str) else '+'.join(split)


def dataset_files(dataloader_cfg) -> dict:
    """The data files of a test dataloader config, for the results."""
    dataset = dataloader_cfg['dataset']
    return {
        k: dataset[k]
        for k in ('type', 'data_root', 'ann_file', 'split_file', 'split')
        if k in dataset
    }


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)

    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    # loaded below, strictly (mmengine's load_from only warns)
    cfg.load_from = None
    cfg.resume = False
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    load_checkpoint_strict(
        runner.model, args.checkpoint, config_name=args.config)
    print_log(
        f'Loaded {args.checkpoint}: every weight fits the model.',
        logger='current')
    if args.out is not None:
        runner.register_hook(PredictionWriterHook(args.out))

    metrics = runner.test()

    split = split_name(cfg.test_dataloader)
    results = {split: metrics}
    if is_main_process():
        path = dump_results(
            osp.join(runner.log_dir, f'results_{split}.json'), results,
            args.config, args.checkpoint, dataset_files(cfg.test_dataloader))
        print_log(
            f'\n{split_table(results)}\n\nresults written to {path}',
            logger='current')


if __name__ == '__main__':
    main()
