"""Text-blind baselines of a referring segmentation split.

How far can one get without reading the sentence? For every sentence of a
split this scores, with the metric of the config (``RISMetric``: oIoU, mIoU,
Prec@X, at its resolution):

- ``largest``: the largest object of the image (by mask area in the
  annotation file), whatever the sentence says;
- ``union``: the union of all objects of the image;
- ``empty`` (needs CHECKPOINT): the model given an empty sentence, i.e. the
  word pieces ``[CLS] [SEP]`` (the tokenizer rejects an empty user
  sentence; this baseline feeds it on purpose, after tokenisation);
- ``model`` (needs CHECKPOINT): the model given the real sentence, for
  comparison.

Masks of ``largest`` and ``union`` go through the config's test pipeline
exactly as the ground truth does (same resize), so both sides are compared
at the same resolution. The model rows run through mmengine's Runner and
test loop with the config's test pipeline and evaluator.

Example::

    python tools/analysis/text_blind_baselines.py \\
        configs/maskris_tiny_refshapes_cpu.py work_dirs/.../iter_1000.pth \\
        --split val --out work_dirs/baselines_val.json
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose
from mmengine.runner import Runner, TestLoop
from pycocotools import mask as mask_utils
from torch import nn

from mmris.datasets.masks import segmentation_to_rle
from mmris.datasets.refer_io import load_instances
from mmris.datasets.transforms.text import load_tokenizer
from mmris.registry import DATASETS, METRICS
from mmris.utils import load_checkpoint_strict, register_all_modules

BASELINES = ('largest', 'union', 'empty', 'model')
MODEL_BASELINES = ('empty', 'model')


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='Score text-blind baselines (largest object, union of '
        'all objects, the model with an empty sentence) on a split')
    parser.add_argument('config', help='config file (data, pipeline, model)')
    parser.add_argument(
        'checkpoint', nargs='?', default=None,
        help='model checkpoint; needed by the empty and model rows')
    parser.add_argument(
        '--split', default='val', help='split to evaluate (default: val)')
    parser.add_argument(
        '--baselines', nargs='+', choices=BASELINES, default=None,
        help='rows to compute (default: all; without a checkpoint: '
        'largest and union)')
    parser.add_argument('--out', help='write the figures to this JSON file')
    parser.add_argument(
        '--work-dir', help='Runner work dir of the model rows (default: '
        'work_dirs/text_blind_baselines)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (see tools/train.py)')
    return parser.parse_args(argv)


def split_dataset_cfg(cfg: Config, split: str) -> dict:
    """The config's test dataset, one sample per sentence of ``split``."""
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['split'] = split
    dataset_cfg['text_mode'] = 'original'
    dataset_cfg['test_mode'] = True
    return dataset_cfg


def image_objects(ann_file) -> Dict[int, List[dict]]:
    """All annotations of every image: ``{image_id: [ann, ...]}``."""
    if not isinstance(ann_file, str):
        raise ValueError('text_blind_baselines: one annotation file is '
                         f'expected (a single-source dataset), got {ann_file}')
    objects = defaultdict(list)
    for ann in load_instances(ann_file)['annotations']:
        objects[ann['image_id']].append(ann)
    return objects


def baseline_rle(kind: str, anns: List[dict], height: int,
                 width: int) -> dict:
    """RLE of the ``'largest'`` object or of the ``'union'`` of ``anns``."""
    rles = [
        segmentation_to_rle(a['segmentation'], height, width,
                            where=f'ann_id {a["id"]}') for a in anns
    ]
    if kind == 'largest':
        areas = [float(mask_utils.area(r)) for r in rles]
        return rles[int(np.argmax(areas))]
    return mask_utils.merge(rles)


def mask_counts(pred: np.ndarray, gt: np.ndarray,
                ignore_index: int) -> tuple:
    """Intersection and union of two {0,1} masks (gt may hold ignores)."""
    valid = gt != ignore_index
    pred_fg, gt_fg = (pred == 1) & valid, (gt == 1) & valid
    return int((pred_fg & gt_fg).sum()), int((pred_fg | gt_fg).sum())


def annotation_baselines(cfg: Config, split: str,
                         kinds: Sequence[str]) -> Dict[str, dict]:
    """Metrics of the mask-only baselines (no model) on ``split``."""
    dataset = DATASETS.build(
        dict(split_dataset_cfg(cfg, split), lazy_init=False))
    objects = image_objects(dataset.ann_file)
    evaluator_cfg = copy.deepcopy(cfg.test_evaluator)
    resolution = evaluator_cfg.get('resolution', 'input')
    ignore_index = evaluator_cfg.get('ignore_index', 255)
    # the test pipeline turns a mask into gt_seg_map at the network input
    # size (as it does the ground truth); no need to tokenise or pack
    pipeline = Compose([
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] not in ('TokenizeText', 'PackRISInputs')
    ])
    counts = {kind: [] for kind in kinds}
    cache = {}
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        anns = objects.get(info['image_id'])
        if not anns:
            raise ValueError(
                f'image_id {info["image_id"]} (sent_id {info["sent_id"]}) '
                f'has no annotation in {dataset.ann_file!r}')
        gt_key = (info['image_id'], info['ann_id'])
        for kind in kinds:
            key = (info['image_id'], kind)
            if key not in cache:
                rle = baseline_rle(kind, anns, info['height'], info['width'])
                cache[key] = rle if resolution == 'original' else pipeline(
                    dict(copy.deepcopy(info), segmentation=rle))['gt_seg_map']
            if gt_key not in cache:
                cache[gt_key] = mask_utils.decode(
                    segmentation_to_rle(info['segmentation'], info['height'],
                                        info['width'])) \
                    if resolution == 'original' else pipeline(
                        copy.deepcopy(info))['gt_seg_map']
            pred = cache[key]
            if resolution == 'original':
                pred = mask_utils.decode(pred)
            counts[kind].append(
                mask_counts(pred, cache[gt_key], ignore_index))
    results = {}
    for kind in kinds:
        metric = METRICS.build(copy.deepcopy(evaluator_cfg))
        results[kind] = metric.compute_metrics(counts[kind])
    return results


class EmptySentence(nn.Module):
    """Wraps a RIS data preprocessor: every sentence becomes [CLS] [SEP].

    Args:
        preprocessor (nn.Module): The model's data preprocessor.
        cls_id (int): Id of [CLS].
        sep_id (int): Id of [SEP].
        pad_id (int): Id of [PAD].
    """

    def __init__(self, preprocessor: nn.Module, cls_id: int, sep_id: int,
                 pad_id: int):
        super().__init__()
        self.preprocessor = preprocessor
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id

    def forward(self, data: dict, training: bool = False) -> dict:
        out = self.preprocessor(data, training)
        ids = out['inputs']['input_ids']
        empty = torch.full_like(ids, self.pad_id)
        empty[:, 0], empty[:, 1] = self.cls_id, self.sep_id
        mask = torch.zeros_like(out['inputs']['attention_mask'])
        mask[:, :2] = 1
        out['inputs'].update(input_ids=empty, attention_mask=mask)
        return out


def model_baselines(cfg: Config, checkpoint: str, split: str,
                    kinds: Sequence[str], work_dir: str) -> Dict[str, dict]:
    """Metrics of the model on ``split`` given the real sentences
    (``'model'``) or empty ones (``'empty'``), in test loops of one Runner
    with the config's test dataloader and evaluator."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.load_from = None  # loaded below, strictly
    cfg.resume = False
    if 'visualization' in cfg.get('default_hooks', {}):
        cfg.default_hooks.visualization.draw = False
    runner = Runner.from_cfg(cfg)
    load_checkpoint_strict(runner.model, checkpoint, config_name=cfg.filename)
    runner.call_hook('before_run')  # as Runner.test() does (log files)
    preprocessor = runner.model.data_preprocessor
    dataloader = copy.deepcopy(cfg.test_dataloader)
    dataloader.dataset = split_dataset_cfg(cfg, split)
    results = {}
    for kind in kinds:
        if kind == 'empty':
            tok = _tokenizer(cfg)
            runner.model.data_preprocessor = EmptySentence(
                preprocessor, tok.cls_token_id, tok.sep_token_id,
                tok.pad_token_id or 0)
        else:
            runner.model.data_preprocessor = preprocessor
        loop = TestLoop(runner, copy.deepcopy(dataloader),
                        copy.deepcopy(cfg.test_evaluator))
        # hooks read runner.test_loop (e.g. its dataloader length)
        runner._test_loop = loop
        results[kind] = dict(loop.run())
        runner._test_loop = None
        del loop  # stops its loader workers
        gc.collect()
    runner.model.data_preprocessor = preprocessor
    runner.call_hook('after_run')
    return results


def _tokenizer(cfg: Config):
    """The tokenizer of the test pipeline's ``TokenizeText``."""
    tokenize = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] == 'TokenizeText'
    ]
    if not tokenize:
        raise ValueError('the empty-sentence baseline needs TokenizeText in '
                         'the test pipeline (to know its tokenizer)')
    return load_tokenizer(tokenize[0]['tokenizer'],
                          **tokenize[0].get('tokenizer_cfg', {}))


def format_table(results: Dict[str, dict], split: str) -> str:
    """Markdown: one row per baseline, one column per float metric."""
    first = next(iter(results.values()))
    keys = [k for k, v in first.items() if isinstance(v, float)]
    head = f'| {split} | ' + ' | '.join(keys) + ' |'
    rows = [head, '|' + '---|' * (len(keys) + 1)]
    for name, metrics in results.items():
        rows.append(f'| {name} | ' +
                    ' | '.join(f'{metrics[k]:.2f}' for k in keys) + ' |')
    return '\n'.join(rows)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    kinds = args.baselines or (
        BASELINES if args.checkpoint else ('largest', 'union'))
    if args.checkpoint is None and set(kinds) & set(MODEL_BASELINES):
        raise ValueError('the empty and model rows need a CHECKPOINT')
    work_dir = args.work_dir or osp.join('work_dirs', 'text_blind_baselines')
    results = {}
    mask_kinds = [k for k in kinds if k not in MODEL_BASELINES]
    if mask_kinds:
        results.update(annotation_baselines(cfg, args.split, mask_kinds))
    model_kinds = [k for k in kinds if k in MODEL_BASELINES]
    if model_kinds:
        results.update(
            model_baselines(cfg, args.checkpoint, args.split, model_kinds,
                            work_dir))
    results = {k: results[k] for k in kinds}
    print(f'\ntext-blind baselines, split {args.split} '
          f'({next(iter(results.values()))["num_sentences"]} sentences, '
          f'{next(iter(results.values()))["resolution"]} resolution):')
    print(format_table(results, args.split))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(split=args.split, results=results), f, indent=2)
    return results


if __name__ == '__main__':
    main()
